// Messages for the kernel's member-level error codes (OUT_ERROR). A file of its own so the
// BigQuery UDF runtime (src/udf/runtime.ts) shares them without pulling in the Arrow code.
import * as L from "./layout.js";

export const KERNEL_ERRORS: Record<number, string> = {
  [L.ERR_AGE]: "age: no usable age or birth_date",
  [L.ERR_SEX]: "sex: missing or not M/F",
};
