// Error hierarchy with stable codes; exit codes follow sysexits (usage 64, data 65,
// unavailable 69, internal 70). Messages name the file, row and column where there is one.

export interface ErrorLocation {
  file?: string;
  row?: number;
  column?: string;
}

export class HccError extends Error {
  readonly code: string;
  readonly exitCode: number;
  readonly location: ErrorLocation;
  constructor(message: string, code: string, exitCode: number, location: ErrorLocation = {}, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = new.target.name;
    this.code = code;
    this.exitCode = exitCode;
    this.location = location;
  }
}

/** Bad command-line usage. */
export class UsageError extends HccError {
  constructor(message: string, cause?: unknown) {
    super(message, "E_USAGE", 64, {}, cause);
  }
}

/** Malformed input data or reference data. */
export class DataError extends HccError {
  constructor(message: string, location: ErrorLocation = {}, cause?: unknown) {
    super(message, "E_DATA", 65, location, cause);
  }
}

/** A needed resource (file, service) is unavailable. */
export class UnavailableError extends HccError {
  constructor(message: string, cause?: unknown) {
    super(message, "E_UNAVAILABLE", 69, {}, cause);
  }
}

/** A broken invariant inside the engine. */
export class InternalError extends HccError {
  constructor(message: string, cause?: unknown) {
    super(message, "E_INTERNAL", 70, {}, cause);
  }
}

/** An output cannot be created (missing or read-only directory, output equal to the input). */
export class CantCreateError extends HccError {
  constructor(message: string, location: ErrorLocation = {}, cause?: unknown) {
    super(message, "E_CANTCREAT", 73, location, cause);
  }
}

/** The run was interrupted (SIGINT/SIGTERM); previous results are intact. */
export class InterruptedError extends HccError {
  constructor(signal: string) {
    super(
      `interrupted (${signal}); the run was aborted and previous results are intact`,
      "E_INTERRUPTED",
      signal === "SIGTERM" ? 143 : 130,
    );
  }
}

/** An HccError a worker returned as a plain `{name, code, message}`, with its class and exit code back. */
export function rebuildWorkerError(e: { code: string; message: string }): HccError {
  if (e.code === "E_DATA") return new DataError(e.message);
  if (e.code === "E_USAGE") return new UsageError(e.message);
  return new InternalError(e.message);
}
