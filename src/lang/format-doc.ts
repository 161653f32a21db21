import type { Comment } from './ast.ts';

/**
 * The printed shape of a file before comments are placed: leaves (one attribute, possibly over
 * several printed lines) and blocks (an opening line, a body, a closing line; `if`/`else` chains
 * have several opening lines). Every printed line remembers the source line it came from, so the
 * comments the lexer collected can be put back next to what they were written beside, even though
 * the formatter reorders attributes.
 */

export interface DocLine {
  /** Text without the item's indentation (continuation lines carry their extra indent). */
  text: string;
  /** Source line this printed line stands for (0 when none). */
  src: number;
  /** Own-line comments printed just before this line. */
  before: string[];
  /** Comment printed at the end of this line. */
  trailing?: string;
}

export interface Leaf {
  type: 'leaf';
  start: number;
  end: number;
  lines: DocLine[];
  /** Own-line comments written after the last line but still inside the item's span. */
  after: string[];
}

export interface Segment {
  open: DocLine;
  body: Item[];
  /** Comments after the last body item (end of block), printed before the next line. */
  tail: string[];
}

export interface Block {
  type: 'block';
  start: number;
  end: number;
  segments: Segment[];
  close: DocLine;
}

export type Item = Leaf | Block;

export function line(text: string, src: number): DocLine {
  return { text, src, before: [] };
}

/** A leaf from printed lines; its span runs from the first line to `end` (at least the last src). */
export function leaf(lines: DocLine[], end = 0): Leaf {
  const srcs = lines.map((l) => l.src).filter((s) => s > 0);
  const start = srcs.length > 0 ? Math.min(...srcs) : 0;
  return { type: 'leaf', start, end: Math.max(end, ...srcs, start), lines, after: [] };
}

export function block(open: DocLine, body: Item[], closeLine: number, extra: Segment[] = []): Block {
  const segments = [{ open, body, tail: [] }, ...extra];
  return { type: 'block', start: open.src, end: Math.max(closeLine, open.src), segments, close: line('}', closeLine) };
}

export function segment(open: DocLine, body: Item[]): Segment {
  return { open, body, tail: [] };
}

function contains(item: Item, l: number): boolean {
  return item.start > 0 && item.start <= l && l <= item.end;
}

/**
 * The items of a body sorted by start line when their spans do not overlap (the common case:
 * merged blocks are the exception), so a comment finds its item by binary search instead of a
 * scan: a file with thousands of statements and comments stays linear-logarithmic.
 */
const disjointIndex = new WeakMap<readonly Item[], Item[] | null>();

function disjointSorted(items: readonly Item[]): Item[] | null {
  let idx = disjointIndex.get(items);
  if (idx !== undefined) return idx;
  const sorted = items.filter((it) => it.start > 0).sort((x, y) => x.start - y.start);
  idx = sorted;
  for (let i = 1; i < sorted.length; i++) {
    if ((sorted[i] as Item).start <= (sorted[i - 1] as Item).end) {
      idx = null;
      break;
    }
  }
  disjointIndex.set(items, idx);
  return idx;
}

/** Index of the last item starting at or before line `l` (-1 when none). */
function lastStartingBy(sorted: readonly Item[], l: number): number {
  let lo = 0;
  let hi = sorted.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if ((sorted[mid] as Item).start <= l) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}

/** The innermost candidate: the item with the smallest span containing line `l`. */
function containing(items: readonly Item[], l: number): Item | undefined {
  const sorted = disjointSorted(items);
  if (sorted !== null) {
    const it = sorted[lastStartingBy(sorted, l)];
    return it !== undefined && contains(it, l) ? it : undefined;
  }
  let best: Item | undefined;
  for (const it of items) {
    if (!contains(it, l)) continue;
    if (best === undefined || it.end - it.start < best.end - best.start) best = it;
  }
  return best;
}

/** The item written first after line `l` (source order, whatever the printed order is). */
function firstAfter(items: readonly Item[], l: number): Item | undefined {
  const sorted = disjointSorted(items);
  if (sorted !== null) return sorted[lastStartingBy(sorted, l) + 1];
  let best: Item | undefined;
  for (const it of items) {
    if (it.start <= l) continue;
    if (best === undefined || it.start < best.start) best = it;
  }
  return best;
}

function attachTrailing(target: DocLine, text: string): void {
  // A line holds one trailing comment; a second one (two items of one source line) goes above it.
  if (target.trailing === undefined) target.trailing = text;
  else target.before.push(text);
}

function firstLineOf(item: Item): DocLine {
  return item.type === 'leaf' ? (item.lines[0] ?? line('', 0)) : (item.segments[0]?.open ?? line('', 0));
}

function placeBefore(item: Item, text: string): void {
  firstLineOf(item).before.push(text);
}

/** Place one comment inside a sequence of items (a block body or the file). */
function placeInBody(body: Item[], tail: string[], c: Comment, text: string): void {
  const l = c.pos.line;
  const inner = containing(body, l);
  if (inner !== undefined) {
    placeInItem(inner, c, text);
    return;
  }
  const next = firstAfter(body, l);
  if (next !== undefined) placeBefore(next, text);
  else tail.push(text);
}

function placeInItem(item: Item, c: Comment, text: string): void {
  const l = c.pos.line;
  if (item.type === 'leaf') {
    if (c.trailing) {
      let target: DocLine | undefined;
      for (const ln of item.lines) if (ln.src > 0 && ln.src <= l) target = ln;
      attachTrailing(target ?? firstLineOf(item), text);
      return;
    }
    const next = item.lines.find((ln) => ln.src > l);
    if (next !== undefined) next.before.push(text);
    else item.after.push(text);
    return;
  }
  if (c.trailing) {
    for (const seg of item.segments) {
      if (seg.open.src === l) {
        attachTrailing(seg.open, text);
        return;
      }
    }
    if (item.close.src === l && containing(item.segments.flatMap((s) => s.body), l) === undefined) {
      attachTrailing(item.close, text);
      return;
    }
  }
  let seg = item.segments[0];
  for (const s of item.segments) if (s.open.src > 0 && s.open.src <= l) seg = s;
  if (seg === undefined) return;
  placeInBody(seg.body, seg.tail, c, text);
}

/** Put every comment next to the item it was written beside. Returns comments left at the end. */
export function placeComments(body: Item[], comments: readonly Comment[]): string[] {
  const tail: string[] = [];
  for (const c of comments) placeInBody(body, tail, c, c.text.trimEnd());
  return tail;
}

/** Render items at `indent` (two spaces per level). */
export function render(items: readonly Item[], indent: string, out: string[]): void {
  for (const it of items) renderItem(it, indent, out);
}

function renderLine(ln: DocLine, indent: string, out: string[]): void {
  if (ln.before.length > 0) {
    const lead = /^ */.exec(ln.text)?.[0] ?? '';
    for (const b of ln.before) out.push(indent + lead + b);
  }
  out.push(indent + ln.text + (ln.trailing === undefined ? '' : ' ' + ln.trailing));
}

function renderItem(item: Item, indent: string, out: string[]): void {
  if (item.type === 'leaf') {
    for (const ln of item.lines) renderLine(ln, indent, out);
    // At the item's own indentation: read back, these comments lead the next item or end the block.
    for (const a of item.after) out.push(indent + a);
    return;
  }
  const inner = indent + '  ';
  item.segments.forEach((seg, i) => {
    if (i === 0) {
      renderLine(seg.open, indent, out);
    } else {
      // `} else {`: comments placed before this line belong inside the previous body.
      for (const b of seg.open.before) out.push(inner + b);
      out.push(indent + seg.open.text + (seg.open.trailing === undefined ? '' : ' ' + seg.open.trailing));
    }
    render(seg.body, inner, out);
    for (const t of seg.tail) out.push(inner + t);
  });
  renderLine(item.close, indent, out);
}
