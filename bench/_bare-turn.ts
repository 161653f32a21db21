// A session turn as the runtime's Redis store makes it, with nothing of the store around it: its
// two turn scripts sent bare through the Redis client, BEGIN_TURN and then APPEND with the
// question and an echo answer, with the store's keys and arguments and the page trimmed by the
// history held (as the store holds its window). The floor server (_redis-floor-server.ts) serves
// these, and bench/sessions.ts (section 6) sets them beside the store.
import { randomUUID } from 'node:crypto';
import { isoAt } from '../src/session/iso-stamp.ts';
import { WAITER_TTL_MS } from '../src/session/lease.ts';
import { APPEND, BEGIN_TURN, type RedisScript } from '../src/session/redis-scripts.ts';

/** The part of the Redis client used here (any client of the runtime's configuration, RESP2 or 3). */
interface Client {
  sendCommand(args: string[]): Promise<unknown>;
}

export const BARE_TTL_SECONDS = 3600;
const LEASE_TTL_MS = 30_000;
// The runtime's default memory window.
const TAIL = 100;

/** A session's six keys in the store's layout (metaKey, messagesKey, leaseKey, queueKey, waitersKey, idempotencyKey) and its agent's index. */
export interface BareSession {
  id: string;
  keys: string[];
  indexKey: string;
  /** What the store would hold of it: its created_at and how long its history is, so that the page is not sent again. */
  held?: { created: string; length: number };
}

export type BareTurn = { status: 'ok'; total: number; output: string } | { status: 'refused'; reply: string };

export function evalsha(client: Client, script: RedisScript, keys: string[], args: string[]): Promise<unknown> {
  return client.sendCommand(['EVALSHA', script.sha1, String(keys.length), ...keys, ...args]);
}

/** One turn; `total` is the history's length before it. `reply` names what refused it (`missing`, `busy`, `fenced`, ...). */
export async function bareTurn(client: Client, session: BareSession, message: string): Promise<BareTurn> {
  const { id, keys, held } = session;
  const token = randomUUID();
  const begin = [token, String(LEASE_TTL_MS), 'enqueue', String(WAITER_TTL_MS), '', '', String(-TAIL), '-1'];
  if (held !== undefined) begin.push('0', String(held.length), held.created);
  const started = (await evalsha(client, BEGIN_TURN, keys, begin)) as unknown[];
  if (started[0] !== 'acquired') return { status: 'refused', reply: String(started[0]) };
  const total = Number(started[4]);
  const output = `echo: ${message} (messages: ${total + 1})`;
  const now = Date.now();
  const appended = (await evalsha(client, APPEND, [keys[0]!, keys[1]!, keys[2]!, keys[5]!, session.indexKey], [
    String(BARE_TTL_SECONDS),
    isoAt(now),
    String(started[2]),
    token,
    '',
    '',
    String(now + BARE_TTL_SECONDS * 1000),
    id,
    '',
    JSON.stringify({ role: 'user', content: message }),
    JSON.stringify({ role: 'assistant', content: output }),
  ])) as unknown[];
  if (appended[0] !== 'ok') return { status: 'refused', reply: String(appended[0]) };
  if (held !== undefined) held.length = Number(appended[1]);
  return { status: 'ok', total, output };
}
