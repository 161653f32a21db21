import { z } from 'zod';
import type { RuntimeLimits } from './defaults.ts';
import { invalidRequest, overLimit } from './errors.ts';
import type { Turn } from './conversation.ts';
import { BUSY_MODES, type BusyMode, type MessageRange } from '../session/types.ts';

const variables = z.record(z.string(), z.string());

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;
const IDEMPOTENCY_KEY_RULE = 'must be 1 to 255 visible ASCII characters';

export const invokeBody = z.object({
  message: z.string().min(1, 'must be a non-empty string'),
  variables: variables.optional(),
  session_id: z.string().optional(),
  /** Keep the user message (and any finished steps) in the session even when the model call fails. */
  save_partial: z.boolean().optional(),
  /** Stream only: repeat the output and tool calls in the final `done` event. */
  include_output: z.boolean().optional(),
  /** What this message does when its session is busy (over the agent's `on_busy` and `--on-busy`). */
  on_busy: z.enum(BUSY_MODES as [BusyMode, ...BusyMode[]]).optional(),
  /** The idempotency key, for clients that cannot set the Idempotency-Key header. */
  client_message_id: z.string().regex(IDEMPOTENCY_KEY, IDEMPOTENCY_KEY_RULE).optional(),
});
export type InvokeBody = z.infer<typeof invokeBody>;

/**
 * The turn a body asks for (invoke, stream and session messages take the same fields), with the
 * idempotency key of the `Idempotency-Key` header or `client_message_id` (the same when both).
 */
export function turnOf(
  body: InvokeBody,
  limits: RuntimeLimits,
  headers: Record<string, string | string[] | undefined>,
  owner: string | undefined,
  sessionId = body.session_id,
): Turn {
  checkMessage(body.message, limits);
  const key = idempotencyKeyOf(headers['idempotency-key'], body.client_message_id);
  // Set field by field: conditional spreads cost a copy each, on every request.
  const turn: Turn = { message: body.message, variables: body.variables ?? {}, sessionId, savePartial: body.save_partial === true, owner };
  if (body.on_busy !== undefined) turn.onBusy = body.on_busy;
  if (key !== undefined) turn.idempotencyKey = key;
  return turn;
}

function idempotencyKeyOf(header: string | string[] | undefined, fromBody: string | undefined): string | undefined {
  if (Array.isArray(header)) throw invalidRequest('invalid request: Idempotency-Key: send the header once');
  if (header !== undefined && !IDEMPOTENCY_KEY.test(header)) throw invalidRequest(`invalid request: Idempotency-Key: ${IDEMPOTENCY_KEY_RULE}`);
  if (header !== undefined && fromBody !== undefined && header !== fromBody) {
    throw invalidRequest('invalid request: client_message_id: differs from the Idempotency-Key header; send one of them, or the same key in both');
  }
  return header ?? fromBody;
}

export const sessionMessageBody = invokeBody.omit({ session_id: true });
export type SessionMessageBody = z.infer<typeof sessionMessageBody>;

export const createSessionBody = z.object({ metadata: z.record(z.string(), z.string()).optional() });

const nonNegativeInt = z
  .string()
  .regex(/^\d+$/, 'must be a non-negative integer')
  .transform((s) => Number(s))
  .refine((n) => Number.isSafeInteger(n), 'is too large');

export const historyQuery = z.object({ offset: nonNegativeInt.optional(), limit: nonNegativeInt.optional(), after_seq: nonNegativeInt.optional() });

/** The page a history request gets: the default size without `limit`, a 400 above the maximum. */
export function historyPage(q: z.infer<typeof historyQuery>, limits: RuntimeLimits): MessageRange {
  const limit = q.limit ?? limits.historyDefaultLimit;
  if (limit > limits.historyMaxLimit) {
    throw invalidRequest(`invalid request: limit: ${limit} is over the largest page of ${limits.historyMaxLimit} messages (historyMaxLimit); page with offset or after_seq`);
  }
  if (q.after_seq !== undefined && q.offset !== undefined) throw invalidRequest('invalid request: after_seq: cannot be combined with offset; page with one of them');
  return q.after_seq === undefined ? { offset: q.offset ?? 0, limit } : { afterSeq: q.after_seq, limit };
}

export function checkMessage(message: string, limits: RuntimeLimits): void {
  const bytes = Buffer.byteLength(message, 'utf8');
  if (bytes > limits.maxMessageBytes) throw overLimit('message', 'maxMessageBytes', limits.maxMessageBytes, bytes, 'bytes');
}

export function checkMetadata(metadata: Record<string, string>, limits: RuntimeLimits): void {
  const keys = Object.keys(metadata);
  if (keys.length > limits.maxMetadataKeys) throw overLimit('metadata', 'maxMetadataKeys', limits.maxMetadataKeys, keys.length, 'keys');
  let bytes = 0;
  for (const k of keys) bytes += Buffer.byteLength(k, 'utf8') + Buffer.byteLength(metadata[k]!, 'utf8');
  if (bytes > limits.maxMetadataBytes) throw overLimit('metadata', 'maxMetadataBytes', limits.maxMetadataBytes, bytes, 'bytes');
}

/**
 * Validate `input` (a body or query) against `schema`; the 400 names the first offending field,
 * e.g. `invalid request: message: must be a non-empty string`. No body at all is `{}`.
 */
export function parseOr400<T>(schema: z.ZodType<T>, input: unknown, where = 'body'): T {
  const r = schema.safeParse(input ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const field = issue === undefined || issue.path.length === 0 ? where : issue.path.map(String).join('.');
  throw invalidRequest(`invalid request: ${field}: ${issue?.message ?? 'invalid'}`);
}
