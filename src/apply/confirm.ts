import { createInterface } from 'node:readline/promises';
import { errorMessage } from '../errors.ts';
import { logger } from '../log.ts';
import { ConfirmationRequiredError } from './errors.ts';

/**
 * Ask for `yes` on the terminal. Without a terminal there is nobody to ask: the command fails
 * with a message pointing at --auto-approve rather than waiting or guessing.
 */
export async function confirmOnTerminal(command: string, question: string, signal?: AbortSignal): Promise<boolean> {
  if (process.stdin.isTTY !== true) throw new ConfirmationRequiredError(command);
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const declined = new Promise<string>((resolve) => {
    rl.once('SIGINT', () => resolve(''));
    rl.once('close', () => resolve(''));
    signal?.addEventListener('abort', () => resolve(''), { once: true });
  });
  try {
    // Closing the interface rejects a pending question; that only means "no answer".
    const asked = rl.question(question).catch((err: unknown) => {
      logger('apply').debug({ err: errorMessage(err) }, 'confirmation prompt closed');
      return '';
    });
    const answer = await Promise.race([asked, declined]);
    return answer.trim() === 'yes';
  } finally {
    rl.close();
  }
}
