import { z } from 'zod';
import type { RuntimeLimits } from './defaults.ts';
import { invalidRequest, overLimit } from './errors.ts';
import type { Turn } from './conversation.ts';

const variables = z.record(z.string(), z.string());

export const invokeBody = z.object({
  message: z.string().min(1, 'must be a non-empty string'),
  variables: variables.optional(),
  session_id: z.string().optional(),
  /** Keep the user message (and any finished steps) in the session even when the model call fails. */
  save_partial: z.boolean().optional(),
  /** Stream only: repeat the output and tool calls in the final `done` event. */
  include_output: z.boolean().optional(),
});
export type InvokeBody = z.infer<typeof invokeBody>;

/** The turn an invoke or stream body asks for (both routes take the same body). */
export function turnOf(body: InvokeBody, limits: RuntimeLimits): Turn {
  checkMessage(body.message, limits);
  return { message: body.message, variables: body.variables ?? {}, sessionId: body.session_id, savePartial: body.save_partial === true };
}

export const sessionMessageBody = invokeBody.omit({ session_id: true });
export type SessionMessageBody = z.infer<typeof sessionMessageBody>;

export const createSessionBody = z.object({ metadata: z.record(z.string(), z.string()).optional() });

const nonNegativeInt = z
  .string()
  .regex(/^\d+$/, 'must be a non-negative integer')
  .transform((s) => Number(s))
  .refine((n) => Number.isSafeInteger(n), 'is too large');

export const historyQuery = z.object({ offset: nonNegativeInt.optional(), limit: nonNegativeInt.optional() });

/** The page a history request gets: the default size without `limit`, a 400 above the maximum. */
export function historyPage(q: z.infer<typeof historyQuery>, limits: RuntimeLimits): { offset: number; limit: number } {
  const limit = q.limit ?? limits.historyDefaultLimit;
  if (limit > limits.historyMaxLimit) {
    throw invalidRequest(`invalid request: limit: ${limit} is over the largest page of ${limits.historyMaxLimit} messages (historyMaxLimit); page with offset`);
  }
  return { offset: q.offset ?? 0, limit };
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
