import { createInterface } from 'node:readline/promises';
import { AgentspecError, ExitCode, errorMessage } from '../errors.ts';
import { logger } from '../log.ts';

/** A command that must be confirmed ran without a terminal and without --auto-approve. */
export class ConfirmationRequiredError extends AgentspecError {
  readonly command: string;

  constructor(command: string, advice: string) {
    super('E_CONFIRMATION_REQUIRED', `${command} needs confirmation but stdin is not a terminal; ${advice}`, {
      exitCode: ExitCode.usage,
    });
    this.command = command;
  }
}

/** What apply and destroy advise when they cannot ask. */
export const PLAN_ADVICE = 'review the plan with `agentspec plan` and run again with --auto-approve';
export const DESTROY_ADVICE = 'review the plan with `agentspec plan --destroy` and run again with --auto-approve';

export interface ConfirmOptions {
  /** Said when there is no terminal to ask on, e.g. "run again with --auto-approve". */
  advice?: string;
  signal?: AbortSignal;
}

/**
 * Ask for `yes` on the terminal. Without a terminal there is nobody to ask: the command fails
 * with a message pointing at --auto-approve rather than waiting or guessing.
 */
export async function confirmOnTerminal(command: string, question: string, opts: ConfirmOptions = {}): Promise<boolean> {
  const { signal } = opts;
  if (process.stdin.isTTY !== true) throw new ConfirmationRequiredError(command, opts.advice ?? 'run again with --auto-approve');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const declined = new Promise<string>((resolve) => {
    rl.once('SIGINT', () => resolve(''));
    rl.once('close', () => resolve(''));
    signal?.addEventListener('abort', () => resolve(''), { once: true });
  });
  try {
    // Closing the interface rejects a pending question; that only means "no answer".
    const asked = rl.question(question).catch((err: unknown) => {
      logger('cli').debug({ err: errorMessage(err) }, 'confirmation prompt closed');
      return '';
    });
    const answer = await Promise.race([asked, declined]);
    return answer.trim() === 'yes';
  } finally {
    rl.close();
  }
}
