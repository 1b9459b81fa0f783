// The text output formats and the member-record output record's shape, apart from the encoder
// (record-text.ts, which reads Arrow): the sink on the main thread names them without loading it.

export type TextFormat = "ndjson" | "csv";

export interface TextOptions {
  /** Output column name per input name (e.g. participant_id → member_id). */
  rename?: Readonly<Record<string, string>>;
  /** Input columns left out (e.g. run_id). */
  drop?: readonly string[];
  /** CSV: write the header line first. */
  header?: boolean;
  /**
   * Buffers are recycled: encode into `into` when it is large enough (the result is then a view
   * of it), and give a new buffer room for a somewhat larger batch, so that it can be reused.
   */
  recycle?: { into: ArrayBuffer | undefined };
}

/** Options that turn a risk_scores batch into the README's output records. */
export const OUTPUT_RECORD: TextOptions = { rename: { participant_id: "member_id" }, drop: ["run_id"] };
