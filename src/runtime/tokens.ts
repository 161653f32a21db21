import type { TokenUsage } from './providers/index.ts';

/** Adds `u` into a running count and keeps its total: a turn's, a delegation's caller's, a pipeline's. */
export function addUsage(into: TokenUsage & { total: number }, u: TokenUsage): void {
  into.input += u.input;
  into.output += u.output;
  into.cache_read += u.cache_read;
  into.total = into.input + into.output + into.cache_read;
}
