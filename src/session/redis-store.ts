import { createClient, ErrorReply } from 'redis';
import { AgentspecError } from '../errors.ts';
import { logger as componentLogger, type Logger } from '../log.ts';
import type { Message, MessagePage, MessageRange, SessionInfo, SessionStore } from './types.ts';
import { SessionCorruptError, SessionNotFoundError, SessionStoreError, SessionStoreUnavailableError } from './errors.ts';
import { isSessionId, newSessionId } from './ids.ts';
import { DEFAULT_SESSION_TTL_SECONDS, sortByActivity } from './memory-store.ts';
import { APPEND, CORRUPT_REPLY_PREFIX, CREATE, DELETE, LOAD, TOUCH, type RedisScript } from './redis-scripts.ts';
import { assertMessages, messageProblem, normalizeRange } from './validate.ts';

export interface RedisSessionStoreOptions {
  url: string;
  /** A session expires this long after its last activity. Default 1 day. */
  ttlSeconds?: number;
  /** First part of every key. Default 'agentspec'. */
  keyPrefix?: string;
  /** A command without an answer after this long fails as unavailable. Default 5000. */
  commandTimeoutMs?: number;
  /** Where warnings go (unreadable history elements, connection changes). Default: the 'session' logger. */
  logger?: Logger;
}

type Client = ReturnType<typeof createClient>;

// Connection attempts before giving up when the store is opened; once it has been reachable the
// client retries for as long as it lives, and calls fail fast in the meantime.
const INITIAL_CONNECT_ATTEMPTS = 3;
const MAX_RECONNECT_DELAY_MS = 1000;
const AGENT_CACHE_SIZE = 10_000;

/** Error replies that mean "Redis cannot serve this right now" rather than "this request is wrong". */
const OUTAGE_REPLY = /^(LOADING|BUSY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|NOREPLICAS|READONLY|OOM|MISCONF)\b/;

/**
 * Sessions in Redis (DESIGN.md "Sessions"): a hash per session, a list of JSON messages beside it,
 * and a per-agent sorted set (score: expiry time in ms) for listing. Every state change that must
 * be atomic runs as one Lua script; the index is kept beside it in the same round trip but in its
 * own slot, so the layout also works on a Cluster.
 */
export class RedisSessionStore implements SessionStore {
  private readonly client: Client;
  private readonly ttlSeconds: number;
  private readonly prefix: string;
  private readonly timeout: number;
  private readonly log: Logger | undefined;
  /** Session id -> agent (never changes), so index refreshes can ride with the append. */
  private readonly agents = new Map<string, string>();
  private everReady = false;
  private down = false;

  private constructor(opts: RedisSessionStoreOptions) {
    const ttl = opts.ttlSeconds ?? DEFAULT_SESSION_TTL_SECONDS;
    if (!Number.isInteger(ttl) || ttl <= 0) throw new RangeError(`ttlSeconds must be a positive integer, got ${ttl}`);
    this.ttlSeconds = ttl;
    this.prefix = opts.keyPrefix ?? 'agentspec';
    this.timeout = opts.commandTimeoutMs ?? 5000;
    this.log = opts.logger;
    this.client = createClient({
      url: opts.url,
      // While disconnected, calls reject at once instead of waiting in a queue for a server that may never return.
      disableOfflineQueue: true,
      commandOptions: { timeout: this.timeout },
      socket: {
        connectTimeout: this.timeout,
        reconnectStrategy: (retries, cause) => {
          if (!this.everReady && retries + 1 >= INITIAL_CONNECT_ATTEMPTS) return cause;
          return Math.min(50 * 2 ** retries, MAX_RECONNECT_DELAY_MS);
        },
      },
    });
    this.client.on('error', (err: unknown) => {
      if (this.down) return;
      this.down = true;
      this.logger().warn({ err, url: redactUrl(opts.url) }, 'redis session store unreachable; calls fail until it is back');
    });
    this.client.on('ready', () => {
      if (this.down) this.logger().info({ url: redactUrl(opts.url) }, 'redis session store reachable again');
      this.down = false;
      this.everReady = true;
    });
  }

  /** Connects, or throws SessionStoreUnavailableError when Redis cannot be reached. */
  static async open(opts: RedisSessionStoreOptions): Promise<RedisSessionStore> {
    const store = new RedisSessionStore(opts);
    try {
      await store.client.connect();
    } catch (err) {
      if (store.client.isOpen) store.client.destroy();
      throw new SessionStoreUnavailableError('redis', err);
    }
    return store;
  }

  async create(agent: string, metadata: Record<string, string> = {}): Promise<SessionInfo> {
    const now = Date.now();
    const stamp = new Date(now).toISOString();
    const info: SessionInfo = { id: newSessionId(), agent, created_at: stamp, last_active: stamp, metadata: { ...metadata } };
    const index = this.indexKey(agent);
    // Hash first, then the index entry, on one connection: whoever sees the entry finds the hash.
    await this.call(async () => {
      await Promise.all([
        this.script(CREATE, this.keys(info.id), [String(this.ttlSeconds), agent, stamp, JSON.stringify(info.metadata)]),
        this.send(['ZADD', index, String(now + this.ttlSeconds * 1000), info.id]),
        this.send(['ZREMRANGEBYSCORE', index, '-inf', String(now)]),
      ]);
    });
    this.rememberAgent(info.id, agent);
    return info;
  }

  async get(id: string): Promise<SessionInfo | null> {
    if (!isSessionId(id)) return null;
    const flat = await this.call(() => this.send(['HGETALL', this.metaKey(id)]));
    return this.parseInfo(id, flat);
  }

  async touch(id: string): Promise<void> {
    await this.activate(id, TOUCH, []);
  }

  async delete(id: string): Promise<boolean> {
    if (!isSessionId(id)) return false;
    const agent = await this.call(() => this.script(DELETE, this.keys(id), []), id);
    this.agents.delete(id);
    if (agent === null) return false;
    await this.call(() => this.send(['ZREM', this.indexKey(String(agent)), id]));
    return true;
  }

  async list(agent: string): Promise<SessionInfo[]> {
    const index = this.indexKey(agent);
    const ids = await this.call(async () => {
      const [, members] = await Promise.all([
        this.send(['ZREMRANGEBYSCORE', index, '-inf', String(Date.now())]),
        this.send(['ZRANGE', index, '0', '-1']),
      ]);
      return asStrings(members);
    });
    const hashes = await this.call(() => Promise.all(ids.map((id) => this.send(['HGETALL', this.metaKey(id)]))));
    const out: SessionInfo[] = [];
    const gone: string[] = [];
    ids.forEach((id, i) => {
      const info = this.parseInfo(id, hashes[i]);
      if (info === null) gone.push(id);
      else out.push(info);
    });
    // Expired between the index trim and the read, or deleted by a process that died before its ZREM.
    if (gone.length > 0) await this.call(() => this.send(['ZREM', index, ...gone]));
    return sortByActivity(out);
  }

  async appendMessages(id: string, messages: Message[]): Promise<number> {
    assertMessages(messages);
    const reply = await this.activate(id, APPEND, messages.map((m) => JSON.stringify(m)));
    return Number((reply as unknown[])[0]);
  }

  async loadMessages(id: string, range?: MessageRange): Promise<MessagePage> {
    const { offset, limit } = normalizeRange(range);
    if (!isSessionId(id)) throw new SessionNotFoundError(id);
    // LRANGE's stop is inclusive and -1 means "the end", so an empty page needs a range that selects nothing.
    const [start, stop] = limit === 0 ? [1, 0] : [offset, limit === undefined ? -1 : offset + limit - 1];
    const reply = await this.call(() => this.script(LOAD, this.keys(id), [String(start), String(stop)]), id);
    if (reply === null) throw new SessionNotFoundError(id);
    const [total, elements] = reply as [number, unknown];
    const messages: Message[] = [];
    asStrings(elements).forEach((raw, i) => {
      const message = parseMessage(raw);
      if (typeof message === 'string') {
        this.logger().warn({ sessionId: id, index: offset + i, reason: message }, 'skipping an unreadable message in the session history');
      } else {
        messages.push(message);
      }
    });
    return { messages, total: Number(total) };
  }

  async close(): Promise<void> {
    if (!this.client.isOpen) return;
    try {
      await this.client.close();
    } catch (err) {
      // Closing while disconnected cannot flush anything; dropping the socket is all that is left.
      this.logger().warn({ err }, 'closing the redis session store failed; dropping the connection');
      if (this.client.isOpen) this.client.destroy();
    }
  }

  /**
   * Runs a touch/append script and moves the session's index entry to its new expiry. When this
   * process already knows the session's agent the index update rides in the same round trip;
   * ZADD XX only updates an entry that is still there, so it never revives a deleted session in
   * the listing. The script's reply (nil: no such session) decides the outcome; a failed index
   * update only delays the session's place in the listing, so it is logged, not thrown, because
   * the messages are already saved and a caller told otherwise would send them twice.
   */
  private async activate(id: string, script: RedisScript, extra: string[]): Promise<unknown> {
    if (!isSessionId(id)) throw new SessionNotFoundError(id);
    const now = Date.now();
    const expiry = String(now + this.ttlSeconds * 1000);
    const known = this.agents.get(id);
    const [saved, indexed] = await this.call(
      () =>
        Promise.allSettled([
          this.script(script, this.keys(id), [String(this.ttlSeconds), new Date(now).toISOString(), ...extra]),
          known === undefined ? Promise.resolve(null) : this.send(['ZADD', this.indexKey(known), 'XX', expiry, id]),
        ]),
      id,
    );
    if (saved.status === 'rejected') throw this.translate(saved.reason, id);
    const reply = saved.value;
    if (reply === null) throw new SessionNotFoundError(id);
    const agent = asStrings(Array.isArray(reply) ? reply : [reply]).at(-1)!;
    try {
      if (indexed.status === 'rejected') throw indexed.reason;
      if (known === undefined) {
        this.rememberAgent(id, agent);
        await this.call(() => this.send(['ZADD', this.indexKey(agent), 'XX', expiry, id]));
      }
    } catch (err) {
      this.logger().warn({ err, sessionId: id, agent }, 'saved, but could not refresh the session in its agent listing');
    }
    return reply;
  }

  private rememberAgent(id: string, agent: string): void {
    // Bounded: the oldest entry goes first (a Map iterates in insertion order).
    if (this.agents.size >= AGENT_CACHE_SIZE) this.agents.delete(this.agents.keys().next().value!);
    this.agents.set(id, agent);
  }

  private async script(s: RedisScript, keys: string[], args: string[]): Promise<unknown> {
    const tail = [String(keys.length), ...keys, ...args];
    try {
      return await this.send(['EVALSHA', s.sha1, ...tail]);
    } catch (err) {
      // A restarted or flushed server has forgotten the script: send it once in full.
      if (!(err instanceof ErrorReply && err.message.startsWith('NOSCRIPT'))) throw err;
      return this.send(['EVAL', s.source, ...tail]);
    }
  }

  private send(args: string[]): Promise<unknown> {
    return this.client.sendCommand(args, { timeout: this.timeout });
  }

  /**
   * Runs Redis calls under one deadline, turning every failure into one of the session errors a
   * caller can act on. The client's own timeout stops at the moment a command is written, so a
   * server that accepts a command and then stalls would otherwise hold the caller forever.
   */
  private async call<T>(fn: () => Promise<T>, sessionId?: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`redis did not answer within ${this.timeout} ms`)), this.timeout);
    });
    try {
      // race() observes the late outcome of fn too, so a reply (or error) after the deadline is dropped, not unhandled.
      return await Promise.race([fn(), deadline]);
    } catch (err) {
      throw this.translate(err, sessionId);
    } finally {
      clearTimeout(timer);
    }
  }

  private translate(err: unknown, sessionId = '(unknown)'): Error {
    if (err instanceof AgentspecError) return err;
    if (err instanceof ErrorReply) {
      if (err.message.startsWith(CORRUPT_REPLY_PREFIX)) {
        return new SessionCorruptError(sessionId, err.message.slice(CORRUPT_REPLY_PREFIX.length).trim());
      }
      if (OUTAGE_REPLY.test(err.message)) return new SessionStoreUnavailableError('redis', err);
      return new SessionStoreError(`redis refused a session store command: ${err.message}`, err);
    }
    // Everything else is the connection: refused, reset, closed, offline, timed out.
    return new SessionStoreUnavailableError('redis', err);
  }

  private parseInfo(id: string, flat: unknown): SessionInfo | null {
    const h = asHash(flat);
    if (Object.keys(h).length === 0) return null;
    const { agent, created_at, last_active } = h;
    if (agent === undefined || created_at === undefined || last_active === undefined) {
      throw new SessionCorruptError(id, 'the session hash lacks agent, created_at or last_active');
    }
    let metadata: unknown;
    try {
      metadata = JSON.parse(h.metadata ?? '{}');
    } catch (err) {
      throw new SessionCorruptError(id, `metadata is not JSON: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
      throw new SessionCorruptError(id, 'metadata is not a JSON object');
    }
    return { id, agent, created_at, last_active, metadata: metadata as Record<string, string> };
  }

  private logger(): Logger {
    return this.log ?? componentLogger('session');
  }

  metaKey(id: string): string {
    return `${this.prefix}:session:{${id}}`;
  }

  messagesKey(id: string): string {
    return `${this.prefix}:session:{${id}}:messages`;
  }

  indexKey(agent: string): string {
    return `${this.prefix}:agent:{${agent}}:sessions`;
  }

  private keys(id: string): string[] {
    return [this.metaKey(id), this.messagesKey(id)];
  }
}

function asStrings(reply: unknown): string[] {
  if (!Array.isArray(reply)) return [];
  return reply.map((x) => (Buffer.isBuffer(x) ? x.toString('utf8') : String(x)));
}

/** HGETALL's reply as a record: node-redis hands it back as a flat array, an object or a Map depending on protocol and version. */
function asHash(reply: unknown): Record<string, string> {
  const text = (x: unknown): string => (Buffer.isBuffer(x) ? x.toString('utf8') : String(x));
  const h: Record<string, string> = {};
  if (Array.isArray(reply)) {
    for (let i = 0; i + 1 < reply.length; i += 2) h[text(reply[i])] = text(reply[i + 1]);
  } else if (reply instanceof Map) {
    for (const [k, v] of reply) h[text(k)] = text(v);
  } else if (typeof reply === 'object' && reply !== null) {
    for (const [k, v] of Object.entries(reply)) h[k] = text(v);
  }
  return h;
}

/** The message, or why the element cannot be one. */
function parseMessage(raw: string): Message | string {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (err) {
    return `not JSON: ${err instanceof Error ? err.message : String(err)}`;
  }
  const problem = messageProblem(value);
  return problem === null ? (value as Message) : problem;
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable url)';
  }
}
