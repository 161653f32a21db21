import { AgentspecError } from '../errors.ts';
import type { StateLockLostError } from '../state/errors.ts';

/** SIGINT/SIGTERM arrived: the resource in flight was finished or rolled back and the state saved. */
export class ApplyInterruptedError extends AgentspecError {
  readonly signal: string;
  constructor(command: string, signal: string) {
    super(
      'E_INTERRUPTED',
      `${command} interrupted by ${signal}: what was done is recorded in the state; run it again to finish`,
    );
    this.signal = signal;
  }
}

/** Some resources failed; their errors are in the state and the output. */
export class ApplyFailedError extends AgentspecError {
  readonly failed: number;
  constructor(failed: number) {
    super('E_APPLY_FAILED', `${failed} resource(s) failed; see the errors above (also recorded in the state)`);
    this.failed = failed;
  }
}

/**
 * The state lock was broken (stale or force-unlocked) after this apply started a runtime, so the
 * outcome could not be recorded. The runtime it started was stopped, or the message says it still runs.
 */
export class ApplyFencedOutError extends AgentspecError {
  readonly runtimePid: number;
  readonly stopped: boolean;
  constructor(lost: StateLockLostError, runtimePid: number, stopError: string | undefined) {
    super(
      'E_STATE_LOCK_LOST',
      `${lost.message} ` +
        (stopError === undefined
          ? `The runtime this apply had started (pid ${runtimePid}) was stopped, since the state could not record it.`
          : `The runtime this apply had started (pid ${runtimePid}) could not be stopped (${stopError}) and is still running unrecorded: stop it by hand.`),
      { cause: lost },
    );
    this.runtimePid = runtimePid;
    this.stopped = stopError === undefined;
  }
}
