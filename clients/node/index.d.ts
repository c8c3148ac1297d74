// Types of @abacushq/telemetry. See README.md.

export interface TelemetryOptions {
  /** ^[a-z0-9][a-z0-9._-]{0,63}$: the package.json key and variable prefix. */
  product: string;
  version?: string;
  /** The collector's base URL; required unless <PRODUCT>_TELEMETRY_DEBUG=1. */
  endpoint?: string;
  /** The project root holding package.json; default: the working directory. */
  dir?: string;
  /** Default from <PRODUCT>_ENV, NODE_ENV, APP_ENV. */
  environment?: string;
  build?: Record<string, unknown>;
  /** Default <user cache dir>/<product>/telemetry. */
  stateDir?: string;
  /** Milliseconds close() may take, whatever the network; default 300. */
  closeBudget?: number;
  /** Where debug mode prints events; default process.stderr. */
  debug?: { write(line: string): unknown } | ((line: string) => void);
  /** Events waiting for the sender; default 1000. */
  queueSize?: number;
  /** Milliseconds before a partial batch is sent; default 5000. */
  flushInterval?: number;
}

export type PropertyValue = string | number | boolean | bigint | ReadonlyArray<string | number | boolean | bigint>;

/** tracked = sent + rejected + spooled + dropped + printed + pending; after close(), pending is 0. */
export interface TelemetryStatus {
  enabled: boolean;
  /** The rule that decided ("enabled", "DO_NOT_TRACK …", "opt-out file …", "no uuid …", …). */
  reason: string;
  debug: boolean;
  tracked: number;
  sent: number;
  rejected: number;
  spooled: number;
  dropped: number;
  droppedBy: { queueFull: number; invalidName: number; tooLarge: number; memory: number; refused: number; spool: number; error: number };
  /** Property or build keys dropped: name, type, or past 64. */
  droppedValues: number;
  printed: number;
  pending: number;
  /** Earlier runs' events: delivered now, discarded, read from the spool. */
  resent: number;
  spoolDropped: number;
  spoolLoaded: number;
  recovered: number;
  lastError: string;
  closed: boolean;
  product: string;
  projectDir: string;
  stateDir: string;
  recentFile: string;
  optOutFile: string;
}

export declare class Telemetry {
  /** Never throws: bad options give a disabled client; status() says why. */
  constructor(options: TelemetryOptions);
  /** Synchronous, never throws, never blocks, no I/O; a no-op after close(). */
  track(name: string, properties?: Record<string, PropertyValue>): void;
  /** Sends what is queued within the close budget, spools the rest; never rejects. */
  close(): Promise<void>;
  status(): TelemetryStatus;
  /** The last events the collector acknowledged, as sent (JSON text), oldest first. */
  recent(): string[];
}

/** Adds "<product>": {"uuid": …} to dir/package.json, byte-preserving; returns the ID (one there is kept). */
export declare function createProject(dir: string, product: string): Promise<string>;
/** Opts this user out of every product using Abacus (the file the Go SDK reads too). */
export declare function disable(): Promise<void>;
/** Removes the opt-out written by disable(). */
export declare function enable(): Promise<void>;
/** A stable code for an error, never its message: err.code, else the constructor's name, in UPPER_SNAKE_CASE. */
export declare function errorCode(err: unknown): string;
/** The last events sent for product on this machine (see Telemetry.recent). */
export declare function recent(product: string, options?: { stateDir?: string }): string[];
export declare const SDK_VERSION: string;
