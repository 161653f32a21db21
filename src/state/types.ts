/**
 * The state contract (DESIGN.md "State"). A Backend persists what `apply` deployed; locking is
 * part of the interface but implemented separately from persistence in each backend.
 */

export const STATE_FORMAT_VERSION = '1.0';

/** What the process adapter started for a resource; a real field, never packed into another. */
export interface RuntimeInfo {
  pid: number;
  port: number;
  endpoint: string;
  started_at: string;
  /** The IR snapshot the runtime serves (optional; absent in states written before it was recorded). */
  snapshot?: string;
}

/**
 * `applied`: deployed as recorded. `failed`: the last action failed (see `error`).
 * `pending`: an intent recorded before an action ran (e.g. before a process starts), so that a
 * kill between starting and saving never leaves something running that state does not know about.
 */
export type EntryStatus = 'applied' | 'failed' | 'pending';

/** A status written by another tool (the original agentspec's `orphaned`): kept, planned as an update. */
export type ForeignStatus = string & { readonly foreign?: never };

export interface StateEntry {
  fqn: string;
  hash: string;
  status: EntryStatus | ForeignStatus;
  last_applied: string;
  adapter: string;
  error?: string;
  runtime?: RuntimeInfo;
}

export interface State {
  version: string;
  /** Grows by one on every successful save; 0 for a state never saved. */
  serial: number;
  /** Random id fixed when the state is first created; a state with another lineage is never overwritten. */
  lineage: string;
  entries: StateEntry[];
}

export interface LockInfo {
  id: string;
  pid: number;
  hostname: string;
  /** ISO-8601 */
  created: string;
  /** ISO-8601; refreshed every staleAfter/3 while held */
  heartbeat: string;
  operation: string;
  who: string;
  /** agentspec version of the holder */
  version: string;
  /**
   * Written by the original agentspec (only pid, created and hostname, or part of them): the other
   * fields are placeholders and `heartbeat` is its creation time.
   */
  original?: boolean;
}

export interface LockOptions {
  /** What the holder is doing, shown to waiters (e.g. "apply"). */
  operation: string;
  /** How long to wait for the lock; 0 fails at once. Default 30 000 ms. */
  timeoutMs?: number;
  /** A lock whose heartbeat is older than this is stale where the kernel lock cannot be trusted. Default 5 min. */
  staleAfterMs?: number;
  /** Cancels waiting. */
  signal?: AbortSignal;
}

export interface LoadOptions {
  /**
   * Repair a corrupt or missing state from the backup. Only allowed while this process holds
   * the lock; read-only loads (plan, status, state list) never write.
   */
  repair?: boolean;
}

export interface Backend {
  /** Human-readable location for messages (a path or a URL without credentials). */
  readonly location: string;
  load(opts?: LoadOptions): Promise<State>;
  /**
   * Persist `entries` as the next serial. Refused when the stored serial is not `baseSerial`
   * (a lost update) or when this process no longer holds the lock.
   */
  save(entries: StateEntry[], baseSerial: number): Promise<State>;
  lock(opts: LockOptions): Promise<LockInfo>;
  unlock(): Promise<void>;
  /** The current holder, or null when unlocked. */
  lockInfo(): Promise<LockInfo | null>;
  /** Remove a lock by id (like `terraform force-unlock`); refuses a live holder unless `force`. */
  forceUnlock(id: string, opts?: { force?: boolean }): Promise<void>;
  /**
   * Explicitly replace the state with its backup (`agentspec state recover`); requires the lock.
   * Optional: a backend without backups does not offer it.
   */
  recover?(): Promise<State>;
  close?(): Promise<void>;
}
