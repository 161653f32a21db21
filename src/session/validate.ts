import type { Message, MessageRange, SessionSummary } from './types.ts';
import { InvalidMessageError, InvalidMessageRangeError } from './errors.ts';

const ROLES = new Set(['user', 'assistant', 'system', 'tool']);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Why `v` is not a Message, or null when it is one. */
export function messageProblem(v: unknown): string | null {
  if (!isRecord(v)) return 'not an object';
  if (typeof v.role !== 'string' || !ROLES.has(v.role)) return 'role must be user, assistant, system or tool';
  if (v.content !== undefined && typeof v.content !== 'string') return 'content must be a string';
  if (v.seq !== undefined && !Number.isSafeInteger(v.seq)) return 'seq must be an integer';
  if (v.tool_calls !== undefined) {
    if (!Array.isArray(v.tool_calls)) return 'tool_calls must be an array';
    for (const c of v.tool_calls) {
      if (!isRecord(c) || typeof c.id !== 'string' || typeof c.name !== 'string') return 'each tool call needs a string id and name';
    }
  }
  if (v.tool_result !== undefined) {
    const r = v.tool_result;
    if (!isRecord(r) || typeof r.tool_call_id !== 'string' || typeof r.content !== 'string') {
      return 'tool_result needs a string tool_call_id and content';
    }
    if (r.is_error !== undefined && typeof r.is_error !== 'boolean') return 'tool_result.is_error must be a boolean';
  }
  return null;
}

export function isMessage(v: unknown): v is Message {
  return messageProblem(v) === null;
}

/** Throws InvalidMessageError for the first message that is not a Message. */
export function assertMessages(messages: readonly unknown[]): asserts messages is Message[] {
  if (!Array.isArray(messages)) throw new InvalidMessageError(0, 'messages must be an array');
  messages.forEach((m, i) => {
    const problem = messageProblem(m);
    if (problem !== null) throw new InvalidMessageError(i, problem);
  });
}

/**
 * A validated range as the stores read it: `offset` from the start, or `tail` from the end, and
 * at most `limit` messages. `afterSeq` N is offset N: the store numbers messages 1, 2, 3, ... in
 * the order they are stored and never removes one, so message seq N sits at index N - 1.
 */
export interface NormalizedRange {
  offset: number;
  limit: number | undefined;
  /** Set for a tail: the last N messages (offset and limit are then unused). */
  tail: number | undefined;
  /** Set for an afterSeq range: messages at or below it are left out even if misplaced. */
  afterSeq: number | undefined;
}

function checkCount(name: string, v: number | undefined): void {
  if (v !== undefined && (!Number.isSafeInteger(v) || v < 0)) throw new InvalidMessageRangeError(`${name} must be a non-negative integer, got ${String(v)}`);
}

export function normalizeRange(range: MessageRange | undefined): NormalizedRange {
  const { offset, limit, afterSeq, tail } = range ?? {};
  checkCount('offset', offset);
  checkCount('limit', limit);
  checkCount('afterSeq', afterSeq);
  checkCount('tail', tail);
  const starts = [offset, afterSeq, tail].filter((v) => v !== undefined).length;
  if (starts > 1) throw new InvalidMessageRangeError('give only one of offset, afterSeq and tail');
  return { offset: offset ?? afterSeq ?? 0, limit: tail === undefined ? limit : undefined, tail, afterSeq };
}

/** The message without its `seq`: the seq a store assigns never comes from the caller. */
export function withoutSeq(m: Message): Message {
  if (m.seq === undefined) return m;
  const { seq: _ignored, ...rest } = m;
  return rest;
}

/** Why `v` is not a SessionSummary, or null when it is one. */
export function summaryProblem(v: unknown): string | null {
  if (!isRecord(v)) return 'not an object';
  if (typeof v.text !== 'string') return 'text must be a string';
  if (!Number.isSafeInteger(v.covers) || (v.covers as number) < 0) return 'covers must be a non-negative integer';
  return null;
}

/** Throws InvalidMessageError when an append's summary is malformed. */
export function assertSummary(summary: SessionSummary | undefined): void {
  if (summary === undefined) return;
  const problem = summaryProblem(summary);
  if (problem !== null) throw new InvalidMessageError(0, `summary: ${problem}`);
}
