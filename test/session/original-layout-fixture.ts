/** Any Redis connection that can send a raw command. */
interface Raw {
  sendCommand(args: string[]): Promise<unknown>;
}

interface OriginalMessage {
  role: string;
  content?: string;
  tool_calls?: Array<{ id: string; name: string; input: Record<string, unknown> }>;
  tool_result?: { tool_use_id: string; content: string };
}

/** Messages as the original agentspec (Go) stores them: its tool result names the call `tool_use_id`. */
export const ORIGINAL_MESSAGES: readonly OriginalMessage[] = [
  { role: 'user', content: 'what is the answer?' },
  { role: 'assistant', tool_calls: [{ id: 'toolu_1', name: 'lookup', input: { q: 'answer', n: 1 } }] },
  { role: 'user', tool_result: { tool_use_id: 'toolu_1', content: '42' } },
  { role: 'assistant', content: 'The answer is 42.' },
];

export const ORIGINAL_CREATED = '2025-03-01T10:00:00.123456789+01:00';
export const ORIGINAL_LAST_ACTIVE = '2025-03-01T10:05:00.5+01:00';

/**
 * Writes one session the way the original runtime does: the session JSON with SET and a TTL, the
 * history as a list of JSON messages (RPUSH, then EXPIRE) or, before its 008 change, as one
 * string holding a JSON array.
 */
export async function writeOriginalSession(
  raw: Raw,
  prefix: string,
  id: string,
  opts: { agent: string; form: 'list' | 'string'; messages?: unknown[]; ttlSeconds?: number; metadata?: Record<string, string> },
): Promise<void> {
  const ttl = String(opts.ttlSeconds ?? 86_400);
  const session = { id, agent_name: opts.agent, created_at: ORIGINAL_CREATED, last_active: ORIGINAL_LAST_ACTIVE, ...(opts.metadata === undefined ? {} : { metadata: opts.metadata }) };
  await raw.sendCommand(['SET', `${prefix}:session:${id}`, JSON.stringify(session), 'EX', ttl]);
  const messages = (opts.messages ?? ORIGINAL_MESSAGES).map((m) => JSON.stringify(m));
  const key = `${prefix}:session:${id}:messages`;
  if (messages.length === 0) return;
  if (opts.form === 'list') await raw.sendCommand(['RPUSH', key, ...messages]);
  else await raw.sendCommand(['SET', key, `[${messages.join(',')}]`]);
  await raw.sendCommand(['EXPIRE', key, ttl]);
}
