// The model pack: read-only tables built by src/engine/pack-builder.ts from data/ and copied
// into linear memory once. Offsets in the header and model blocks are bytes from the pack base.
import {
  PH_MAGIC, PH_VERSION, PH_N_MODELS, PH_HASH_CAP, PH_HASH_KEYS, PH_N_CODES,
  PH_MODEL_DIR, PH_POPS, PK_MAGIC, PK_VERSION,
} from "./layout";

export let packBase: usize = 0;
export let nModels: i32 = 0;
export let hashCap: i32 = 0;
export let hashKeys: usize = 0;
export let nCodes: i32 = 0;
export let modelDir: usize = 0;
export let popBlock: usize = 0;

@inline
export function word(base: usize, idx: i32): i32 {
  return load<i32>(base + (<usize>idx << 2));
}

/** The address held in word `idx` of a descriptor (the host's i32 pointers; layout.ts FD_*, MC_*). */
@inline
export function addr(desc: usize, idx: i32): usize {
  return <usize>word(desc, idx);
}

/** Absolute address of the table whose byte offset is stored at word `idx` of `block`. */
@inline
export function tableAt(block: usize, idx: i32): usize {
  return packBase + <usize>word(block, idx);
}

export function modelBlock(m: i32): usize {
  return packBase + <usize>load<i32>(modelDir + (<usize>m << 2));
}

/** Install a pack; returns 0 or a negative error (bad magic or version). */
export function installPack(base: usize): i32 {
  if (word(base, PH_MAGIC) != PK_MAGIC) return -1;
  if (word(base, PH_VERSION) != PK_VERSION) return -2;
  packBase = base;
  nModels = word(base, PH_N_MODELS);
  hashCap = word(base, PH_HASH_CAP);
  hashKeys = tableAt(base, PH_HASH_KEYS);
  nCodes = word(base, PH_N_CODES);
  modelDir = tableAt(base, PH_MODEL_DIR);
  popBlock = tableAt(base, PH_POPS);
  return 0;
}
