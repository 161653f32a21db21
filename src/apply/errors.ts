import { AgentspecError } from '../errors.ts';

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
