import type { TokenUsage } from './providers/index.ts';

/**
 * What a tool call made during an agent run may need to know about that run: the agents on the
 * way to it (for delegation depth and cycles), the run's token count (a delegate's tokens are
 * added to it, so they count toward the caller's `token_budget`) and the prompt variables.
 */
export interface RunFrame {
  /** The agent being run last; the top-level agent first. */
  chain: readonly string[];
  tokens: TokenUsage & { total: number };
  variables: Readonly<Record<string, string>>;
}

// Keyed by the run's own abort signal, which every tool call of the run receives in its context:
// the tool contract (`tools/types.ts`) knows nothing of agents, and AsyncLocalStorage would put
// a promise hook on every promise of every request for this one lookup.
const frames = new WeakMap<AbortSignal, RunFrame>();

/** Ties `frame` to the run whose tool calls get `signal`. Each run has a signal of its own. */
export function setRunFrame(signal: AbortSignal, frame: RunFrame): void {
  frames.set(signal, frame);
}

/** The frame of the agent run that handed a tool call `signal`, if any. */
export function runFrameOf(signal: AbortSignal): RunFrame | undefined {
  return frames.get(signal);
}
