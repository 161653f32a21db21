import type { IRDocument } from '../ir/types.ts';
import type { RuntimeInfo } from '../state/types.ts';

/** The deploy target chosen for a package (REFERENCE 3.7). */
export interface TargetChoice {
  /** Name of the binding or deploy target. */
  name: string;
  /** Adapter name as resolved by the selection rules (e.g. local-mcp, process, docker). */
  adapter: string;
  /** Port the runtime listens on. */
  port: number;
  /** Health check path (`health.path`, default /healthz). */
  healthPath: string;
}

export interface DeployRequest {
  package: string;
  /** The lowered document (environment applied) the runtime must serve. */
  document: IRDocument;
  target: TargetChoice;
  /** Directory that holds the state file; the adapter keeps its files in `<stateDir>/.agentspec/`. */
  stateDir: string;
}

/** What an adapter is about to start: recorded as an intent before anything runs. */
export interface PreparedDeploy {
  package: string;
  document: IRDocument;
  port: number;
  endpoint: string;
  snapshotPath: string;
  healthPath: string;
  logPath: string;
  pidPath: string;
}

/** What a runtime start is doing, for a person watching. */
export type StartProgress = { kind: 'spawned'; pid: number } | { kind: 'waiting'; seconds: number };

/**
 * A runtime process started ahead of its start (see readiness.ts): it has loaded its code and
 * waits to be told to read its snapshot and listen. It serves nothing until `start` uses it.
 */
export interface Standby {
  readonly pid: number;
  /** Stop it if `start` has not used it; a no-op once used or dismissed. */
  dismiss(): Promise<void>;
}

export interface StartOptions {
  /** A standby from `standby` for this deployment: used instead of spawning when it is still alive. */
  standby?: Standby;
  /** Aborting rolls the start back: the half-started process is stopped. */
  signal?: AbortSignal;
  /** How long to wait for the health check to pass. */
  startTimeoutMs?: number;
  /** Told when the process is spawned and once per second while it is not yet healthy. */
  onProgress?: (event: StartProgress) => void;
}

export type RuntimeState = 'running' | 'stopped';
/** `down`: the process is not running; `unknown`: nothing to probe (no process recorded). */
export type HealthState = 'healthy' | 'unhealthy' | 'down' | 'unknown';

export interface RuntimeStatus {
  state: RuntimeState;
  health: HealthState;
  /** Seconds since start, when running. */
  uptimeSeconds?: number;
}

export interface StopResult {
  /** Processes that were running and are now gone. */
  stopped: number[];
  /** Processes that needed SIGKILL after the grace period. */
  killed: number[];
}

/**
 * Makes the deployed world match a package. Adapters act and report (pid, port, endpoint); they
 * never write state: the apply engine records what they did.
 */
export interface Adapter {
  readonly name: string;
  /** False for targets that are recognised but cannot be applied yet. */
  readonly supported: boolean;
  /** Validate the request and lay out what the start will use (snapshot path, port); changes nothing. */
  prepare(req: DeployRequest): Promise<PreparedDeploy>;
  /**
   * Spawn the runtime of `prepared` ahead of `start`, recorded in the pid file, waiting to be told
   * to start. Only under the state lock, after recovery: the pid file is the lock holder's.
   */
  standby?(prepared: PreparedDeploy): Promise<Standby>;
  /** Start the package's runtime and wait until it is healthy. */
  start(prepared: PreparedDeploy, opts?: StartOptions): Promise<RuntimeInfo>;
  /**
   * Stop every runtime process of the package: those recorded (`pids`) and any the adapter finds
   * itself (pid file, process table), each verified to be ours before it is signalled. `spare`
   * (this apply's standby) is left running, and in the pid file.
   */
  stop(pkg: string, stateDir: string, pids: readonly number[], spare?: readonly number[]): Promise<StopResult>;
  /**
   * Stop only the runtime `pid` that this process started from `prepared` (nothing else the package
   * may have running): used when the state can no longer record it, e.g. after the lock was lost.
   */
  rollback(prepared: PreparedDeploy, pid: number): Promise<void>;
  /** Stop runtime processes of the package that are not in `keep` (left over by an interrupted apply). */
  reap(pkg: string, stateDir: string, keep: readonly number[]): Promise<StopResult>;
  /** Is the recorded runtime alive and healthy? */
  inspect(pkg: string, stateDir: string, info: RuntimeInfo, healthPath?: string): Promise<RuntimeStatus>;
}
