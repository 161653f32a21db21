import { AgentspecError, errorMessage } from '../errors.ts';
import { logger } from '../log.ts';
import { ApplyInterruptedError } from './errors.ts';

export interface InterruptTrap {
  /** Aborted on the first SIGINT or SIGTERM. */
  readonly signal: AbortSignal;
  /** The signal that arrived, if any. */
  received(): NodeJS.Signals | undefined;
  /** Restore the default behaviour (a later Ctrl-C ends the process at once). */
  dispose(): void;
}

/**
 * While an apply or destroy runs, Ctrl-C must not kill the process between starting a runtime and
 * recording it: the signal only asks the engine to stop after the resource in flight (finished
 * or rolled back), save and release the lock.
 */
export function trapInterrupts(command: string): InterruptTrap {
  const controller = new AbortController();
  let got: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (got === undefined) {
      got = sig;
      logger('apply').warn({ signal: sig, command }, 'interrupt received: finishing the resource in flight, saving the state, then exiting');
      controller.abort(new Error(`interrupted by ${sig}`));
    } else {
      logger('apply').warn({ signal: sig, command }, 'still saving the state; exiting as soon as it is written');
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    received: () => got,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/**
 * What to report when a run that received `sig` failed: the interrupt itself, unless something else
 * went wrong on the way out (a save refused by the disk, a lost lock). That error must reach the
 * user and the exit code, since "what was done is recorded in the state" would then be false.
 */
export function interruptOutcome(command: string, sig: NodeJS.Signals, err: unknown): unknown {
  if (err instanceof AgentspecError && err.code !== 'E_INTERRUPTED') {
    logger('apply').error({ signal: sig, command, err: errorMessage(err) }, 'interrupted, and finishing up failed');
    return err;
  }
  return new ApplyInterruptedError(command, sig);
}
