import type { Message } from './types.ts';

/**
 * Pages known to be stretches of a store's history: `list` is `history[start .. start +
 * list.length)`. A store declares this only where both stay true: the page is frozen (declaring
 * freezes it), and the history is an array that only ever grows and whose messages are frozen all
 * through (the memory store's history; the Redis store's held window while it goes on from its
 * end). The history itself stays extensible: the counts keep their running totals on it.
 * Counting over a declared page (runtime/tokens.ts) then reads only the messages it has not
 * counted before, instead of comparing the page with the one it saw last turn: on a session not
 * touched for a while, those comparisons were mostly cache misses, and the three counts of a turn
 * (window, tool pairs, the echo model's tokens) a fifth of its CPU.
 */
export interface Stretch {
  readonly history: readonly Message[];
  readonly start: number;
}

// A property of the frozen page itself, not enumerable, so that the page compares and serializes as
// the plain array it is: a page is made on every turn, and a WeakMap entry for a key this short-lived
// cost about twice as much to add (measured).
const STRETCH = Symbol('stretch');

/** Declares `list` (frozen here) a stretch of `history` from `start`; returns it. */
export function declareStretch(list: Message[], history: readonly Message[], start: number): Message[] {
  const stretch: Stretch = { history, start };
  Object.defineProperty(list, STRETCH, { value: stretch });
  Object.freeze(list);
  return list;
}

/** The history and place `list` was declared a stretch of, if it was. */
export function stretchOf(list: readonly Message[]): Stretch | undefined {
  return (list as { [STRETCH]?: Stretch })[STRETCH];
}

/** `list.slice(from)`, declared a stretch of the same history when `list` is one. */
export function sliceOf(list: Message[], from: number): Message[] {
  const part = list.slice(from);
  const stretch = stretchOf(list);
  return stretch === undefined ? part : declareStretch(part, stretch.history, stretch.start + Math.min(from, list.length));
}
