/// <reference types="node" />

/** Options of a client. Only `product` is required (and `endpoint`, unless debug mode is on). */
export interface TelemetryOptions {
  /** The product's name, e.g. "strapi": ^[a-z0-9][a-z0-9._-]{0,63}$. Key of the project's entry in package.json, prefix of the environment variables (STRAPI_TELEMETRY_DISABLED…) and key of the machine-ID hash. */
  product: string;
  /** The product's version, sent with every event. */
  version?: string;
  /** The collector's base URL (http or https); batches go to endpoint + "/v1/batch". */
  endpoint?: string;
  /** The project root holding package.json; default: the working directory. */
  dir?: string;
  /** development, staging, production, test or other; default: <PRODUCT>_ENV, NODE_ENV or APP_ENV, else development. */
  environment?: string;
  /** The project's build configuration (plugin list, flags); values follow the rules of event properties. */
  build?: Record<string, unknown>;
  /** Holds the spool, the fallback machine ID and recent.jsonl; default: <user cache dir>/<product>/telemetry. */
  stateDir?: string;
  /** Milliseconds close() may take, whatever the network does; default 300. */
  closeBudget?: number;
  /** Where debug mode (<PRODUCT>_TELEMETRY_DEBUG=1) prints each event as one JSON line: a stream or a function of the line; default process.stderr. */
  debug?: { write(line: string): unknown } | ((line: string) => void);
  /** Events waiting between track() and the sender; default 1000. When full, track() drops the newest event and counts it. */
  queueSize?: number;
  /** Milliseconds a tracked event may wait for a batch to fill while the program runs; default 5000. */
  flushInterval?: number;
}

/** A property value: a string, number, boolean, or a list of those. Anything else is dropped and counted. */
export type PropertyValue = string | number | boolean | bigint | ReadonlyArray<string | number | boolean | bigint>;

/** Events dropped, by reason. */
export interface DroppedBy {
  queueFull: number;
  invalidName: number;
  tooLarge: number;
  memory: number;
  refused: number;
  rejected: number;
  spool: number;
  error: number;
}

/** A snapshot of what a client decided and did. After close(), tracked = sent + spooled + dropped + printed. */
export interface TelemetryStatus {
  /** Whether the client collects events at all. */
  enabled: boolean;
  /** The consent rule that decided: "enabled", "DO_NOT_TRACK is set", "<PRODUCT>_TELEMETRY_DISABLED is set", "opt-out file … exists", "no package.json …", "no uuid: …", "invalid package.json: …", or "invalid options: …". */
  reason: string;
  /** Whether events are printed instead of sent. */
  debug: boolean;
  /** Events track() accepted while the client was open. */
  tracked: number;
  /** Events of this run the collector acknowledged. */
  sent: number;
  /** Events of this run written to the spool for a later run. */
  spooled: number;
  /** Events of this run lost; droppedBy says why. */
  dropped: number;
  droppedBy: DroppedBy;
  /** Property or build keys dropped for their name, type or number. */
  droppedValues: number;
  /** Events the collector rejected (also counted in dropped). */
  rejected: number;
  /** Events printed in debug mode. */
  printed: number;
  /** Events not yet acknowledged, this run's and earlier runs'. */
  pending: number;
  /** Events of earlier runs, from the spool: loaded, sent, dropped. */
  earlier: { loaded: number; sent: number; dropped: number };
  /** Errors caught inside the SDK. */
  recovered: number;
  /** The last delivery problem, if any. */
  lastError: string;
  /** Whether close() has finished. */
  closed: boolean;
  product: string;
  /** The project directory whose package.json was read. */
  projectDir: string;
  /** Where the spool, machine-id and recent.jsonl are. */
  stateDir: string;
  /** The user-level opt-out file that disable() writes. */
  optOutFile: string;
}

/** Collects the events of one run of the product. */
export declare class Telemetry {
  /** Decides consent at once (environment, opt-out file, package.json). Never throws: invalid options give a disabled client whose status() says why. */
  constructor(options: TelemetryOptions);
  /** Records one event. Synchronous, never throws, never blocks, no I/O: the properties are copied shallowly and queued. No-op after close(). */
  track(name: string, properties?: Record<string, PropertyValue>): void;
  /** Sends what is queued within the close budget (300 ms by default) whatever the network; spools the rest for the next run. Never rejects; idempotent. */
  close(): Promise<void>;
  /** What the client decided and did so far. */
  status(): TelemetryStatus;
  /** The last events the collector acknowledged (at most 100 or 256 KiB), as the JSON text that was sent, oldest first. */
  recent(): string[];
}

/** Gives the project in dir a project ID at <product>.uuid in its package.json, leaving every other byte alone, and returns it; an ID already there is returned. Rejects with an Error naming the file and the problem. */
export declare function createProject(dir: string, product: string): Promise<string>;
/** Records the user-level opt-out shared by every product using Abacus (Go or Node.js). */
export declare function disable(): Promise<void>;
/** Removes the user-level opt-out written by disable(). */
export declare function enable(): Promise<void>;
/** A stable code for an error, never its message: err.code normalised, else a name for well-known conditions, else the constructor's name in UPPER_SNAKE_CASE; "" for null or undefined. */
export declare function errorCode(err: unknown): string;
/** The last events sent for product on this machine (see Telemetry.recent). */
export declare function recent(product: string, options?: { stateDir?: string }): string[];
/** The version of this SDK, sent as context.sdk = "abacus-node/<version>". */
export declare const SDK_VERSION: string;
