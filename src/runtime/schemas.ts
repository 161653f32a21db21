import { z } from 'zod';
import { invalidRequest } from './errors.ts';
import type { Turn } from './conversation.ts';

const variables = z.record(z.string(), z.string());

export const invokeBody = z.object({
  message: z.string().min(1, 'must be a non-empty string'),
  variables: variables.optional(),
  session_id: z.string().optional(),
  /** Keep the user message (and any finished steps) in the session even when the model call fails. */
  save_partial: z.boolean().optional(),
});
export type InvokeBody = z.infer<typeof invokeBody>;

/** The turn an invoke or stream body asks for (both routes take the same body). */
export function turnOf(body: InvokeBody): Turn {
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

/**
 * Validate `input` (a body or query) against `schema`; the 400 names the first offending field,
 * e.g. `invalid request: message: must be a non-empty string`.
 */
export function parseOr400<T>(schema: z.ZodType<T>, input: unknown, where = 'body'): T {
  const r = schema.safeParse(input ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const field = issue === undefined || issue.path.length === 0 ? where : issue.path.map(String).join('.');
  throw invalidRequest(`invalid request: ${field}: ${issue?.message ?? 'invalid'}`);
}
