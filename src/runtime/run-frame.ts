import { AsyncLocalStorage } from 'node:async_hooks';
import type { TokenUsage } from './providers/index.ts';

/**
 * What a tool call made during an agent run may need to know about that run: the agents on the
 * way to it (for delegation depth and cycles), the run's token count (a delegate's tokens are
 * added to it, so they count toward the caller's `token_budget`) and the prompt variables.
 * Carried by AsyncLocalStorage because the tool contract (`tools/types.ts`) knows nothing of agents.
 */
export interface RunFrame {
  /** The agent being run last; the top-level agent first. */
  chain: readonly string[];
  tokens: TokenUsage & { total: number };
  variables: Readonly<Record<string, string>>;
}

const frames = new AsyncLocalStorage<RunFrame>();

export function withRunFrame<T>(frame: RunFrame, fn: () => Promise<T>): Promise<T> {
  return frames.run(frame, fn);
}

/** The frame of the agent run this code is part of, if any. */
export function currentRunFrame(): RunFrame | undefined {
  return frames.getStore();
}
