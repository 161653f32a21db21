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

// The stretch rides on the page itself, as a private field a constructor gives the object it is
// handed (a base constructor that returns another object makes `this` that object): a page is made
// on every turn, and under load this took a sixtieth of a session server's CPU as a
// non-enumerable property (defineProperty leaves the fast path; a WeakMap entry cost about twice
// as much again). A private field is invisible to comparison, serialization and enumeration, so
// the page still compares and serializes as the plain array it is. It is added before the page
// is frozen.
class Lent {
  constructor(target: object) {
    return target;
  }
}

class Stamp extends Lent {
  #stretch: Stretch;

  private constructor(list: Message[], stretch: Stretch) {
    super(list);
    this.#stretch = stretch;
  }

  static stamp(list: Message[], stretch: Stretch): void {
    new Stamp(list, stretch);
  }

  static of(list: readonly Message[]): Stretch | undefined {
    return #stretch in list ? (list as unknown as Stamp).#stretch : undefined;
  }
}

/** Declares `list` (frozen here) a stretch of `history` from `start`; returns it. */
export function declareStretch(list: Message[], history: readonly Message[], start: number): Message[] {
  Stamp.stamp(list, { history, start });
  Object.freeze(list);
  return list;
}

/** The history and place `list` was declared a stretch of, if it was. */
export function stretchOf(list: readonly Message[]): Stretch | undefined {
  return Stamp.of(list);
}

/** `list.slice(from)`, declared a stretch of the same history when `list` is one. */
export function sliceOf(list: Message[], from: number): Message[] {
  const part = list.slice(from);
  const stretch = stretchOf(list);
  return stretch === undefined ? part : declareStretch(part, stretch.history, stretch.start + Math.min(from, list.length));
}
