import type { Message } from '../session/types.ts';
import { stretchOf } from '../session/stretches.ts';
import type { TokenUsage } from './providers/index.ts';

/** Adds `u` into a running count and keeps its total: a turn's, a delegation's caller's, a pipeline's. */
export function addUsage(into: TokenUsage & { total: number }, u: TokenUsage): void {
  into.input += u.input;
  into.output += u.output;
  into.cache_read += u.cache_read;
  into.total = into.input + into.output + into.cache_read;
}

/**
 * A number per message, made in order along a sequence of messages: `step` is given the
 * sequence, the position, and the state it left after the message before.
 */
export interface Tally<S> {
  start(): S;
  step(members: readonly Message[], i: number, state: S): number;
}

/** A tally of a count that depends on the message alone (its estimate, its words). */
export class MessageCount implements Tally<undefined> {
  constructor(readonly count: (m: Message) => number) {}

  start(): undefined {
    return undefined;
  }

  step(members: readonly Message[], i: number): number {
    return this.count(members[i]!);
  }
}

/**
 * Frozen messages in an order they were seen in, with running totals of each tally over them.
 * The memory store hands out the same frozen messages turn after turn, and a turn's window is
 * the last one moved on by the messages the last turn stored; each window after the first is
 * one stretch of a run. The totals over a stretch are two lookups, and only messages not seen
 * before are read, so a turn's counts do not grow with its window. A run is reachable only from
 * its messages' places (a WeakMap), so it goes when they do; a run over a store's history (a
 * declared page's, see session/stretches.ts) only from that history, and places none.
 */
class Run {
  readonly members: Message[];
  // The running sums of every tally asked of this run, in one array, a row per member: row r
  // holds each tally over members[base .. base + r), tally k at column k. A turn asks three
  // tallies of the same stretch, and with a sum array of each (behind a Map) those were a dozen
  // cache misses on a session last touched long ago; in rows, the second and third find the
  // lines the first brought in.
  private readonly tallies: Tally<unknown>[] = [];
  private readonly states: unknown[] = [];
  /** Per tally: its rows made so far (row 0, the empty sum, always is). */
  private readonly made: number[] = [];
  private width = 0;
  private rows = new Float64Array(0);

  /** Given `history`, the run is over a store's history (see session/stretches.ts) from `base` on, and never added to here. */
  constructor(
    history?: readonly Message[],
    readonly base = 0,
  ) {
    this.members = (history ?? []) as Message[];
  }

  /** The tally over members[from..to), `from` at `base` or after. */
  between<S>(tally: Tally<S>, from: number, to: number): number {
    const k = this.column(tally as Tally<unknown>);
    const last = to - this.base;
    if (this.made[k]! <= last) this.fill(k, last);
    const w = this.width;
    return this.rows[last * w + k]! - this.rows[(from - this.base) * w + k]!;
  }

  private column(tally: Tally<unknown>): number {
    const k = this.tallies.indexOf(tally);
    if (k !== -1) return k;
    this.tallies.push(tally);
    this.states.push(tally.start());
    this.made.push(1);
    this.layout(Math.max(1, this.capacity), this.tallies.length);
    return this.tallies.length - 1;
  }

  /** Makes tally k's rows up to `last`. */
  private fill(k: number, last: number): void {
    if (last >= this.capacity) this.layout(Math.max(last + 1, Math.ceil(1.5 * this.capacity)), this.width);
    const { rows, width: w, base, members } = this;
    const tally = this.tallies[k]!;
    const state = this.states[k];
    for (let r = this.made[k]!; r <= last; r++) rows[r * w + k] = rows[(r - 1) * w + k]! + tally.step(members, base + r - 1, state);
    this.made[k] = last + 1;
  }

  /** The rows the array has room for. */
  private get capacity(): number {
    return this.width === 0 ? 0 : this.rows.length / this.width;
  }

  /** Room for `capacity` rows of `width` columns, the rows made so far kept. */
  private layout(capacity: number, width: number): void {
    const old = this.rows;
    const oldWidth = this.width;
    const oldRows = this.capacity;
    const rows = new Float64Array(capacity * width);
    if (oldWidth === width) rows.set(old);
    else for (let r = 0; r < oldRows; r++) for (let k = 0; k < oldWidth; k++) rows[r * width + k] = old[r * oldWidth + k]!;
    this.rows = rows;
    this.width = width;
  }
}

const places = new WeakMap<Message, { run: Run; index: number }>();

/**
 * The run over a store's history, from the first of its declared pages that was counted: kept on
 * the history array itself, under a symbol of this module's (not enumerable, so the array iterates,
 * compares and serializes as before). A turn looks it up for each of its counts, and a WeakMap
 * lookup was cache misses on a history last touched a thousand requests earlier, where the
 * array is what the store just read the page from.
 */
const RUN = Symbol('run');

function historyRun(history: readonly Message[], start: number): Run {
  const held = history as { [RUN]?: Run };
  let run = held[RUN];
  if (run === undefined) Object.defineProperty(history, RUN, { value: (run = new Run(history, start)) });
  return run;
}

/**
 * For a page a store declared a stretch of its history: the history's run and where the page
 * starts in it. Undefined (the page is counted the general way) for a page that starts before the
 * first page of that history that was counted.
 */
function declaredRun(list: readonly Message[]): { run: Run; at: number } | undefined {
  const stretch = stretchOf(list);
  if (stretch === undefined) return undefined;
  const run = historyRun(stretch.history, stretch.start);
  return stretch.start < run.base ? undefined : { run, at: stretch.start };
}

/**
 * A run holds its members: past this length a new run starts, so that a session that keeps
 * growing (whose store holds only a window of it, as the Redis store does) does not keep every
 * message it ever had alive through the run of its latest ones.
 */
const MAX_RUN_LENGTH = 4096;

/** Deeper than this (or cyclic), a message is taken as one that may change. */
const MAX_SETTLED_DEPTH = 32;

/** Frozen all through (as the memory store freezes what it stores): nothing a tally reads can change. */
function settled(v: unknown, depth = 0): boolean {
  if (typeof v !== 'object' || v === null) return true;
  if (depth > MAX_SETTLED_DEPTH || !Object.isFrozen(v)) return false;
  for (const x of Object.values(v)) if (!settled(x, depth + 1)) return false;
  return true;
}

/**
 * Walks `list` from `from` in stretches: each frozen message starts one, continued while the
 * list goes on with the same objects as the run it is placed in (references compared, nothing
 * read). A frozen message not seen before is placed at the end of the run the list just came
 * from when that is where the run ends, else it starts a run. Messages that are not frozen all
 * through can still change: they are handed to `loose`.
 */
function stretches(list: readonly Message[], from: number, visit: (run: Run, at: number, length: number) => void, loose: (m: Message) => void): void {
  let lastRun: Run | undefined;
  let lastEnd = 0;
  let i = from;
  while (i < list.length) {
    const m = list[i]!;
    let place = Object.isFrozen(m) ? places.get(m) : undefined;
    if (place === undefined && !settled(m)) {
      loose(m);
      lastRun = undefined;
      i++;
      continue;
    }
    if (place === undefined) {
      const run = lastRun !== undefined && lastEnd === lastRun.members.length && lastRun.members.length < MAX_RUN_LENGTH ? lastRun : new Run();
      place = { run, index: run.members.length };
      run.members.push(m);
      places.set(m, place);
    }
    const { run, index } = place;
    const members = run.members;
    let n = 1;
    while (i + n < list.length && index + n < members.length && list[i + n] === members[index + n]) n++;
    visit(run, index, n);
    lastRun = run;
    lastEnd = index + n;
    i += n;
  }
}

/** The total of `count` over list[from..]. */
export function sumOf(list: readonly Message[], count: MessageCount, from = 0): number {
  const known = declaredRun(list);
  if (known !== undefined) return known.run.between(count, known.at + Math.min(from, list.length), known.at + list.length);
  let total = 0;
  stretches(
    list,
    from,
    (run, at, n) => (total += run.between(count, at, at + n)),
    (m) => (total += count.count(m)),
  );
  return total;
}

/** The count of one message (kept with its run's totals when it was seen in a list). */
export function countOf(m: Message, count: MessageCount): number {
  const place = Object.isFrozen(m) ? places.get(m) : undefined;
  return place === undefined ? count.count(m) : place.run.between(count, place.index, place.index + 1);
}

/**
 * When the whole of `list` is one stretch of a run: the run's tally over list[1..] (the first
 * message is left out: what a tally says of it depends on the messages before it in the run).
 */
export function tallyAfterFirst<S>(list: readonly Message[], tally: Tally<S>): number | undefined {
  const known = declaredRun(list);
  if (known !== undefined) return list.length === 0 ? undefined : known.run.between(tally, known.at + 1, known.at + list.length);
  let first: { run: Run; at: number; length: number } | undefined;
  let parts = 0;
  stretches(
    list,
    0,
    (run, at, length) => {
      if (parts++ === 0) first = { run, at, length };
    },
    () => parts++,
  );
  if (parts !== 1 || first === undefined || first.length !== list.length) return undefined;
  return first.run.between(tally, first.at + 1, first.at + list.length);
}

/** Whether `c` is a code unit that `\s` (and String.prototype.trim) treats as white space. */
function isSpace(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  if (c < 0xa0) return false;
  return c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}

/**
 * How many white-space-separated words `text` holds: `text.trim().split(/\s+/).length`, or 0
 * for blank text, counted without building the words.
 */
export function countWords(text: string): number {
  let words = 0;
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const space = isSpace(text.charCodeAt(i));
    if (!space && !inWord) words++;
    inWord = !space;
  }
  return words;
}
