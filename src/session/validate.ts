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

/** The validated [offset, limit] of a range; limit undefined means "to the end". */
export function normalizeRange(range: MessageRange | undefined): { offset: number; limit: number | undefined } {
  const offset = range?.offset ?? 0;
  const limit = range?.limit;
  if (range?.tail !== undefined) throw new InvalidMessageRangeError('tail cannot be combined with offset or limit');
  if (!Number.isSafeInteger(offset) || offset < 0) throw new InvalidMessageRangeError(`offset must be a non-negative integer, got ${String(offset)}`);
  if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 0)) {
    throw new InvalidMessageRangeError(`limit must be a non-negative integer, got ${String(limit)}`);
  }
  return { offset, limit };
}

/** The validated `tail` of a range, or undefined when the range selects by offset/limit. */
export function tailOf(range: MessageRange | undefined): number | undefined {
  const tail = range?.tail;
  if (tail === undefined) return undefined;
  if (!Number.isSafeInteger(tail) || tail < 0) throw new InvalidMessageRangeError(`tail must be a non-negative integer, got ${String(tail)}`);
  if (range?.offset !== undefined || range?.limit !== undefined) throw new InvalidMessageRangeError('tail cannot be combined with offset or limit');
  return tail;
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
