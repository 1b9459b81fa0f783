// Node 20 aborts the whole process ("FATAL ERROR: v8::Module::IsGraphAsync must be used on an
// instantiated module", exit 134) when a worker thread is terminated while it is still loading ES
// modules — nodejs/node#43182 and its kin. A run that fails fast (a bad line in the first range)
// destroys its pool while the other workers may still be starting, so the pool is only destroyed
// once none of its workers is loading: each worker reports, in shared memory, that its module has
// been evaluated and how many dynamic imports it has in flight.

/** Shared counters: [workers whose module finished evaluating, dynamic imports in flight]. */
export type LoadGate = Int32Array;

export function newLoadGate(): LoadGate {
  return new Int32Array(new SharedArrayBuffer(8));
}

/**
 * Worker side: call at the end of the worker module's top-level code. It counts once the loader
 * that is evaluating the module has returned (piscina may load it with require(esm), which still
 * builds a facade module after the evaluation), i.e. on the next turn of the event loop.
 */
export function workerStarted(gate: LoadGate | undefined): void {
  if (gate) setImmediate(() => Atomics.add(gate, 0, 1));
}

/** Worker side: a module loaded on first use, counted while its import is in flight. */
export function lazyModule<T>(gate: LoadGate | undefined, load: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | null = null;
  return () => {
    if (p) return p;
    if (gate) Atomics.add(gate, 1, 1);
    p = load().finally(() => {
      if (gate) Atomics.sub(gate, 1, 1);
    });
    return p;
  };
}

/**
 * Main side: resolves when `workers` workers have started and no import is in flight, or after
 * `timeoutMs` (a worker that failed to load never reports; its error is the run's error anyway).
 */
export async function loadsSettled(gate: LoadGate, workers: number, timeoutMs = 5000): Promise<void> {
  const until = performance.now() + timeoutMs;
  while ((Atomics.load(gate, 0) < workers || Atomics.load(gate, 1) > 0) && performance.now() < until) {
    await new Promise((r) => setTimeout(r, 2));
  }
}
