import { createHash, randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { AgentspecError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { SessionCorruptError } from './errors.ts';
import { isSessionId } from './ids.ts';
import type { RedisScript } from './redis-scripts.ts';

/**
 * Sessions written by the original agentspec (the Go runtime) and their move into ours
 * (docs/sessions.md "Coming from the original agentspec").
 *
 * The original keeps `P:session:ID`, a string holding the session as JSON, and
 * `P:session:ID:messages`, a list of JSON messages (before its 008 change: one string holding a
 * JSON array). Neither has a hash tag, so in a Redis Cluster each of them, and our pair of keys
 * `P:session:{ID}` / `P:session:{ID}:messages`, can be in a different slot: no single script or
 * transaction may touch them all. The move is therefore copy-then-switch:
 *
 * 1. claim: `SET {P:session:ID}:migrating TOKEN NX PX` (the claim's hash tag is the original
 *    key, so it shares that key's slot). Whoever does not get the claim waits until our layout
 *    has the session, or takes over once a crashed migrator's claim has expired;
 * 2. copy: read the original session and its history;
 * 3. switch: one script on our keys writes the hash (with `seq` = n) and the list (seq 1..n),
 *    only if our hash has no session yet, so exactly one migrator wins even after a claim expired;
 * 4. retire: each original key is renamed to `{KEY}:original` (same slot) with a TTL of
 *    ORIGINAL_BACKUP_TTL_SECONDS, so the original runtime no longer finds the session (it answers
 *    404 instead of forking the conversation) and an operator can still read what was moved.
 *
 * Our own appenders never write to the original keys: an append of a session this process does
 * not know yet first asks `adopt`, which returns only once our layout has it. Their messages are
 * therefore stored after the migrated ones, each once.
 */

/** How long the renamed original keys are kept after a migration. */
export const ORIGINAL_BACKUP_TTL_SECONDS = 7 * 24 * 3600;
/** A migrator that dies holding the claim delays the others by at most this long. */
const CLAIM_TTL_MS = 30_000;
/** A waiter gives up after this long, twice a claim's life: a migrator was replaced at least once. */
const WAIT_LIMIT_MS = 2 * CLAIM_TTL_MS;
const SCAN_COUNT = '1000';

/** A session of the original layout could not be moved into ours. */
export class SessionMigrationError extends AgentspecError {
  readonly sessionId: string;
  readonly reason: string;

  constructor(sessionId: string, reason: string) {
    super('E_SESSION_MIGRATION', `session ${sessionId} (original agentspec layout) could not be migrated: ${reason}`);
    this.sessionId = sessionId;
    this.reason = reason;
  }
}

function script(name: string, source: string): RedisScript {
  return { name, source, sha1: createHash('sha1').update(source).digest('hex') };
}

/**
 * KEYS: our hash, our list. ARGV: ttl ms, agent, created_at, last_active, metadata JSON, seq, then
 * the history elements. Returns 0 when our hash already has a session (another migrator won).
 * A hash without `agent` or a list beside it are leftovers of an append to a missing session.
 */
const SWITCH = script(
  'original-switch',
  String.raw`
if redis.call('HEXISTS', KEYS[1], 'agent') == 1 then return 0 end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('HSET', KEYS[1], 'agent', ARGV[2], 'created_at', ARGV[3], 'last_active', ARGV[4], 'metadata', ARGV[5], 'seq', ARGV[6])
for i = 7, #ARGV, 1000 do
  redis.call('RPUSH', KEYS[2], unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
if #ARGV >= 7 then redis.call('PEXPIRE', KEYS[2], ARGV[1]) end
return 1
`,
);

/**
 * KEYS: an original key, its backup (same slot). ARGV: backup ttl seconds. Renames the key if it
 * is still there and returns the backup's length when it is a list, else -1.
 */
const RETIRE = script(
  'original-retire',
  String.raw`
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('RENAME', KEYS[1], KEYS[2]) end
local kind = redis.call('TYPE', KEYS[2]).ok
if kind == 'none' then return -1 end
redis.call('EXPIRE', KEYS[2], ARGV[1])
if kind == 'list' then return redis.call('LLEN', KEYS[2]) end
return -1
`,
);

/** KEYS: the claim. ARGV: the claimer's token. Deletes the claim only if it is still ours. */
const RELEASE = script(
  'original-release',
  String.raw`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`,
);

/** KEYS: the original message key. Returns {type, elements}: the list, or the string in one element. */
const READ_HISTORY = script(
  'original-read-history',
  String.raw`
local kind = redis.call('TYPE', KEYS[1]).ok
if kind == 'list' then return {kind, redis.call('LRANGE', KEYS[1], 0, -1)} end
if kind == 'string' then return {kind, {redis.call('GET', KEYS[1])}} end
return {kind, {}}
`,
);

export interface OriginalLayoutOptions {
  /** First part of every key, as for our layout. */
  prefix: string;
  /** TTL of a migrated session whose original key had none. */
  ttlSeconds: number;
  /** Our layout's keys (the store's own formats). */
  ours: { metaKey(id: string): string; messagesKey(id: string): string; indexKey(agent: string): string };
  /** One command, under the store's deadline and error translation. */
  send(args: string[]): Promise<unknown>;
  /** One script (EVALSHA, EVAL when the server has forgotten it), likewise. */
  script(s: RedisScript, keys: string[], args: string[]): Promise<unknown>;
  logger(): Logger;
}

/** `migrated`: this call moved it; `already`: our layout had it (another process moved it); `absent`: no original session. */
export type MigrationOutcome = 'migrated' | 'already' | 'absent';

/** What would be written for one original session: our hash fields and the history elements. */
export interface MigrationPlan {
  agent: string;
  created_at: string;
  last_active: string;
  metadata: Record<string, string>;
  /** JSON elements, `seq` 1..n, in the original order. */
  elements: string[];
  /** The original history's form: a list, a string holding an array (before the original's 008 change), or none. */
  form: 'list' | 'string' | 'none';
  ttlMs: number;
}

export class OriginalLayout {
  private readonly o: OriginalLayoutOptions;
  /** Migrations this process is running or waiting for, so concurrent calls for one session share one. */
  private readonly inFlight = new Map<string, Promise<MigrationOutcome>>();

  constructor(options: OriginalLayoutOptions) {
    this.o = options;
  }

  sessionKey(id: string): string {
    return `${this.o.prefix}:session:${id}`;
  }

  messagesKey(id: string): string {
    return `${this.o.prefix}:session:${id}:messages`;
  }

  /** A key in the slot of `key` (its whole name is the hash tag). */
  private beside(key: string, suffix: string): string {
    return `{${key}}:${suffix}`;
  }

  /**
   * The store's hook for a session our layout does not have: moves an original session into our
   * layout, or waits while another process does. True when our layout has the session now (the
   * caller tries again), false when there is no original session either.
   */
  async adopt(id: string): Promise<boolean> {
    if (!isSessionId(id)) return false;
    return (await this.migrate(id)) !== 'absent';
  }

  /** Moves one original session into our layout (see the module comment for the steps). */
  migrate(id: string): Promise<MigrationOutcome> {
    let running = this.inFlight.get(id);
    if (running === undefined) {
      running = this.claimAndMigrate(id).finally(() => this.inFlight.delete(id));
      this.inFlight.set(id, running);
    }
    return running;
  }

  private async claimAndMigrate(id: string): Promise<MigrationOutcome> {
    const deadline = Date.now() + WAIT_LIMIT_MS;
    for (let attempt = 0; ; attempt++) {
      const [original, ours] = await Promise.all([this.o.send(['EXISTS', this.sessionKey(id)]), this.hasOurs(id)]);
      if (ours) {
        // Switched, but the migrator has not retired the original keys yet (or died before it did).
        if (Number(original) === 1) await this.retire(id);
        return 'already';
      }
      if (Number(original) === 0) return 'absent';
      const token = randomBytes(16).toString('hex');
      const claim = this.beside(this.sessionKey(id), 'migrating');
      if ((await this.o.send(['SET', claim, token, 'NX', 'PX', String(CLAIM_TTL_MS)])) === 'OK') {
        try {
          return await this.copyAndSwitch(id);
        } finally {
          await this.release(id, claim, token);
        }
      }
      if (Date.now() > deadline) throw new SessionMigrationError(id, `another process has held the migration claim for over ${WAIT_LIMIT_MS} ms`);
      await sleep(Math.min(10 * 2 ** attempt, 200));
    }
  }

  /** Reads an original session and builds what the switch would write, without writing anything. */
  async plan(id: string): Promise<MigrationPlan | null> {
    const [raw, pttl, history] = await Promise.all([
      this.o.send(['GET', this.sessionKey(id)]),
      this.o.send(['PTTL', this.sessionKey(id)]),
      this.o.script(READ_HISTORY, [this.messagesKey(id)], []),
    ]);
    if (raw === null) return null;
    const session = parseOriginalSession(id, text(raw));
    const { form, items } = historyItems(id, history as [unknown, unknown[]]);
    const ttl = Number(pttl);
    return { ...session, elements: items.map((item, i) => migratedElement(item, i + 1)), form, ttlMs: ttl > 0 ? ttl : this.o.ttlSeconds * 1000 };
  }

  /** Every session id with an original session key, each once (SCAN, never KEYS). */
  async *scan(): AsyncGenerator<string> {
    const head = `${this.o.prefix}:session:`;
    const seen = new Set<string>();
    let cursor = '0';
    do {
      const reply = (await this.o.send(['SCAN', cursor, 'MATCH', `${globEscape(head)}*`, 'COUNT', SCAN_COUNT, 'TYPE', 'string'])) as [unknown, unknown[]];
      cursor = text(reply[0]);
      for (const key of reply[1].map(text)) {
        // Our own keys carry braces and message keys a suffix: neither leaves a bare session id.
        const id = key.slice(head.length);
        if (!isSessionId(id) || seen.has(id)) continue;
        seen.add(id);
        yield id;
      }
    } while (cursor !== '0');
  }

  /** True when our layout has the session. */
  async hasOurs(id: string): Promise<boolean> {
    return Number(await this.o.send(['HEXISTS', this.o.ours.metaKey(id), 'agent'])) === 1;
  }

  /**
   * Deletes every original key of a session deleted in our layout: the backups, and the original
   * keys themselves when a migrator died before retiring them (else a later access would find
   * them and bring the deleted session back).
   */
  async discard(id: string): Promise<void> {
    const keys = [this.sessionKey(id), this.messagesKey(id)];
    // One DEL per key: in a Cluster each can be in a slot of its own.
    await Promise.all([...keys, ...keys.map((k) => this.beside(k, 'original'))].map((k) => this.o.send(['DEL', k])));
  }

  private async copyAndSwitch(id: string): Promise<MigrationOutcome> {
    const plan = await this.plan(id);
    // Retired between our look and the claim: whoever did it switched first.
    if (plan === null) return (await this.hasOurs(id)) ? 'already' : 'absent';
    const n = plan.elements.length;
    const won = await this.o.script(
      SWITCH,
      [this.o.ours.metaKey(id), this.o.ours.messagesKey(id)],
      [String(plan.ttlMs), plan.agent, plan.created_at, plan.last_active, JSON.stringify(plan.metadata), String(n), ...plan.elements],
    );
    if (Number(won) === 1) {
      await this.o.send(['ZADD', this.o.ours.indexKey(plan.agent), String(Date.now() + plan.ttlMs), id]);
    }
    const kept = await this.retire(id);
    if (plan.form === 'list' && kept > n) {
      // Only the original runtime writes there: it saved a turn between our copy and the rename.
      this.o
        .logger()
        .warn({ sessionId: id, copied: n, original: kept, backup: this.beside(this.messagesKey(id), 'original') }, 'the original runtime appended to a session while it was migrated; those messages stay in the backup key only');
    }
    if (Number(won) === 1) this.o.logger().info({ sessionId: id, agent: plan.agent, messages: n, form: plan.form }, 'migrated a session from the original agentspec layout');
    return Number(won) === 1 ? 'migrated' : 'already';
  }

  /** Renames both original keys to their backups; returns the messages backup's length (-1 unless a list). */
  private async retire(id: string): Promise<number> {
    const ttl = String(ORIGINAL_BACKUP_TTL_SECONDS);
    const session = this.sessionKey(id);
    const messages = this.messagesKey(id);
    // The session key first: from then on the original runtime finds no session to write to.
    await this.o.script(RETIRE, [session, this.beside(session, 'original')], [ttl]);
    return Number(await this.o.script(RETIRE, [messages, this.beside(messages, 'original')], [ttl]));
  }

  /** A claim that cannot be released expires by itself; the migration's own outcome stands. */
  private async release(id: string, claim: string, token: string): Promise<void> {
    try {
      await this.o.script(RELEASE, [claim], [token]);
    } catch (err) {
      this.o.logger().warn({ err, sessionId: id }, `could not release the migration claim; it expires within ${CLAIM_TTL_MS} ms`);
    }
  }
}

function text(x: unknown): string {
  return Buffer.isBuffer(x) ? x.toString('utf8') : String(x);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `*`, `?`, `[`, `]` and `\` in a prefix are literal, not a pattern. */
function globEscape(s: string): string {
  return s.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/** An original timestamp (Go's RFC 3339 with nanoseconds) as our ISO-8601 form. */
function isoTime(id: string, field: string, value: unknown): string {
  const t = typeof value === 'string' ? Date.parse(value) : NaN;
  if (Number.isNaN(t)) throw new SessionCorruptError(id, `the original session's ${field} is not a timestamp`);
  return new Date(t).toISOString();
}

/** The original session JSON: `{id, agent_name, created_at, last_active, metadata?}`. */
function parseOriginalSession(id: string, raw: string): Omit<MigrationPlan, 'elements' | 'form' | 'ttlMs'> {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (err) {
    throw new SessionCorruptError(id, `the original session is not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!isRecord(v)) throw new SessionCorruptError(id, 'the original session is not a JSON object');
  if (typeof v.agent_name !== 'string' || v.agent_name === '') throw new SessionCorruptError(id, 'the original session has no agent_name');
  const metadata: Record<string, string> = {};
  if (v.metadata !== undefined && v.metadata !== null) {
    if (!isRecord(v.metadata)) throw new SessionCorruptError(id, 'the original session metadata is not an object');
    for (const [k, value] of Object.entries(v.metadata)) metadata[k] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return { agent: v.agent_name, created_at: isoTime(id, 'created_at', v.created_at), last_active: isoTime(id, 'last_active', v.last_active), metadata };
}

/** READ_HISTORY's reply `[type, elements]` as the original messages, each decoded. */
function historyItems(id: string, [kind, values]: [unknown, unknown[]]): { form: MigrationPlan['form']; items: unknown[] } {
  const form = text(kind);
  if (form === 'list') return { form, items: values.map((v) => parseElement(text(v))) };
  if (form === 'string') return { form, items: parseStringHistory(id, text(values[0])) };
  if (form === 'none') return { form, items: [] };
  throw new SessionCorruptError(id, `the original messages key is a ${form}, not a list or a string`);
}

/** Pre-008 history: one string holding a JSON array of messages. */
function parseStringHistory(id: string, raw: string): unknown[] {
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (err) {
    throw new SessionCorruptError(id, `the original messages string is not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!Array.isArray(v)) throw new SessionCorruptError(id, 'the original messages string is not a JSON array');
  return v;
}

/** A list element decoded, or kept as its raw text when it is not JSON. */
function parseElement(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return new UnreadableElement(raw);
  }
}

/** An element that is not JSON: moved byte for byte, and skipped with a WARN by every load, as any unreadable element. */
class UnreadableElement {
  constructor(readonly raw: string) {}
}

/**
 * One original message in our form with its seq: the original names a tool result's call
 * `tool_use_id` where we say `tool_call_id`; everything else (role, content, tool_calls of
 * {id, name, input}, is_error) is the same. Unknown fields are kept.
 */
function migratedElement(item: unknown, seq: number): string {
  if (item instanceof UnreadableElement) return item.raw;
  if (!isRecord(item)) return JSON.stringify(item);
  const message: Record<string, unknown> = { ...item };
  const result = message.tool_result;
  if (isRecord(result) && result.tool_call_id === undefined && result.tool_use_id !== undefined) {
    const { tool_use_id, ...rest } = result;
    message.tool_result = { tool_call_id: tool_use_id, ...rest };
  }
  message.seq = seq;
  return JSON.stringify(message);
}
