// The dbt project's BigQuery target reads "not scored" from <model>_scored (issue 13 item 12):
// BigQuery stores a NULL HCC list as [], so the staging model must not take the list or the row
// from a model the member was not scored in. Compiled offline, as tests/integration/dbt.test.ts
// compiles every model (no connection, no token fetched).
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../..", import.meta.url));
const haveDbt = existsSync(join(root, ".venv", "bin", "dbt"));

describe.skipIf(!haveDbt && !process.env["CI"])("dbt on BigQuery: not scored vs. no HCCs", () => {
  it("stg_hcc_raw_scores keeps a model's row and list only where <model>_scored", () => {
    const dir = mkdtempSync(join(tmpdir(), "hcc-dbt-bq-scored-"));
    try {
      const adc = join(dir, "adc.json");
      writeFileSync(adc, JSON.stringify({ type: "authorized_user", client_id: "x", client_secret: "x", refresh_token: "x" }));
      const r = spawnSync(
        "bash",
        [
          join(root, "scripts", "dbt.sh"),
          "compile",
          "--target",
          "bigquery",
          "--vars",
          "{hcc_introspect: false}",
          "--no-populate-cache",
          "--select",
          "stg_hcc_raw_scores",
        ],
        {
          cwd: root,
          encoding: "utf8",
          env: {
            ...process.env,
            DBT_SEND_ANONYMOUS_USAGE_STATS: "false",
            GOOGLE_APPLICATION_CREDENTIALS: adc,
            HCC_BQ_PROJECT: "placeholder-project",
            HCC_BQ_DATASET: "hcc",
            DBT_TARGET_PATH: join(dir, "target"),
            DBT_LOG_PATH: join(dir, "logs"),
          },
        },
      );
      expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
      const sql = readFileSync(
        join(dir, "target", "compiled", "hcc_wasm", "models", "staging", "stg_hcc_raw_scores.sql"),
        "utf8",
      );
      expect(sql).toContain("case when coalesce(v28_scored, v28_segment is not null) then v28_hccs end as hcc_codes");
      expect(sql).toMatch(/where coalesce\(v28_scored, v28_segment is not null\)/);
      expect(sql).not.toMatch(/^\s*v28_hccs as hcc_codes/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
