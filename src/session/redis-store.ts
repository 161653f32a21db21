import { ClientOfflineError, createClient, ErrorReply, MultiErrorReply } from 'redis';
import { AgentspecError, errorMessage } from '../errors.ts';
import { logger as componentLogger, type Logger } from '../log.ts';
import type {
  AppendOptions,
  BeginTurnRequest,
  BeginTurnResult,
  CreateOptions,
  Message,
  MessagePage,
  MessageRange,
  RequestClaim,
  RequestClaimResult,
  SessionInfo,
  SessionStore,
  SessionSummary,
} from './types.ts';
import {
  FencedAppendError,
  IdempotencyKeyUsedError,
  SessionCorruptError,
  SessionNotFoundError,
  SessionStoreError,
  SessionStoreUnavailableError,
} from './errors.ts';
import { isSessionId, newSessionId } from './ids.ts';
import { isoAt } from './iso-stamp.ts';
import { declareStretch } from './stretches.ts';
import { DeadlineGroups, type DeadlineSignal } from './redis-deadlines.ts';
import { commandBytes, UnwrittenCommands } from './redis-unwritten.ts';
import { DEFAULT_SESSION_TTL_SECONDS, sortByActivity } from './memory-store.ts';
import {
  APPEND,
  BEGIN_TURN,
  CLAIM_REQUEST,
  CORRUPT_REPLY_PREFIX,
  CREATE,
  DELETE,
  MIGRATE,
  RELEASE_LEASE,
  RENEW_LEASE,
  SETTLE_REQUEST,
  TOUCH,
  type RedisScript,
} from './redis-scripts.ts';
import { assertMessages, assertSummary, messageProblem, normalizeRange, summaryProblem, withoutSeq, type NormalizedRange } from './validate.ts';
// original layout + durability: begin
import { OriginalLayout } from './original-layout.ts';
import { assertOnDisk, checkDurability, readPersistence, waitAofCommand, waitAofTimeoutMs, type SessionDurability } from './durability.ts';
// original layout + durability: end

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
  /** `fsync`: an append is acknowledged only once WAITAOF confirms it on disk (Redis >= 7.2). Default `ack`. */
  durability?: SessionDurability;
}

type Client = ReturnType<typeof createClient>;

// Connection attempts before giving up when the store is opened; once it has been reachable the
// client retries for as long as it lives, and calls fail fast in the meantime.
const INITIAL_CONNECT_ATTEMPTS = 3;
const MAX_RECONNECT_DELAY_MS = 1000;
const AGENT_CACHE_SIZE = 10_000;
/** Characters of stored JSON the held turn windows may add up to, over all sessions. */
const TAIL_CACHE_CHARS = 16 * 2 ** 20;

/** A window of a session's history (and up to as much again before it): list elements from `base` on, each a frozen message or why it cannot be read. */
interface HeldTail {
  created: string;
  base: number;
  items: Array<Message | string>;
  /** Characters of each element as stored. */
  sizes: number[];
  chars: number;
  /** How many of the items are unreadable. */
  unreadable: number;
}

/** Error replies that mean "Redis cannot serve this right now" rather than "this request is wrong". */
const OUTAGE_REPLY = /^(LOADING|BUSY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|NOREPLICAS|READONLY|OOM|MISCONF)\b/;

/**
 * Sessions in Redis (DESIGN.md "Sessions"): a hash per session, a list of JSON messages beside it,
 * and a per-agent sorted set (score: expiry time in ms) for listing; beside them the turn lease,
 * its queue and the idempotency records. The start and the end of a turn (beginTurn, append) are
 * one Lua script each, a load is one MULTI/EXEC; create, touch, delete and the conversion of an
 * old string history are small scripts too. The index lives in a slot of its own.
 */
export class RedisSessionStore implements SessionStore {
  private readonly client: Client;
  private readonly ttlSeconds: number;
  private readonly prefix: string;
  private readonly timeout: number;
  private readonly log: Logger | undefined;
  /** Session id -> agent (never changes), so index refreshes can ride with the append. */
  private readonly agents = new Map<string, string>();
  /**
   * Session id -> the window of its history the last turn here read, with what this process
   * appended since: stored elements never change and a history only grows, so the next turn's
   * tail fetches only what it does not hold (BEGIN_TURN checks the session is the same one).
   */
  private readonly tails = new Map<string, HeldTail>();
  private tailChars = 0;
  private everReady = false;
  private down = false;
  /** Sessions still in the original agentspec's layout are moved into ours on first access. */
  readonly original: OriginalLayout;
  private readonly durability: SessionDurability;
  private readonly deadlines: DeadlineGroups;
  /** Commands given to the client and not yet answered: which need their deadline's signal. */
  private readonly unwritten = new UnwrittenCommands();
  /** Scripts sent again (NOSCRIPT, or a history converted first): an append's WAITAOF sent before such a resend does not cover it. */
  private resent = 0;

  private constructor(opts: RedisSessionStoreOptions) {
    const ttl = opts.ttlSeconds ?? DEFAULT_SESSION_TTL_SECONDS;
    if (!Number.isInteger(ttl) || ttl <= 0) throw new RangeError(`ttlSeconds must be a positive integer, got ${ttl}`);
    this.ttlSeconds = ttl;
    this.prefix = opts.keyPrefix ?? 'agentspec';
    this.timeout = opts.commandTimeoutMs ?? 5000;
    this.log = opts.logger;
    this.deadlines = new DeadlineGroups(this.timeout);
    this.durability = opts.durability ?? 'ack';
    this.original = new OriginalLayout({
      prefix: this.prefix,
      ttlSeconds: ttl,
      ours: { metaKey: (id) => this.metaKey(id), messagesKey: (id) => this.messagesKey(id), indexKey: (agent) => this.indexKey(agent) },
      send: (args) => this.call(() => this.send(args)),
      script: (s, keys, args) => this.call(() => this.script(s, keys, args)),
      logger: () => this.logger(),
    });
    this.client = createClient({
      url: opts.url,
      // While disconnected, calls reject at once instead of waiting in a queue for a server that may never return.
      disableOfflineQueue: true,
      // A hand-over pauses the client's writing, and commands would then wait unwritten without
      // their deadline's signal (see UnwrittenCommands). Off by default with RESP2; said here.
      maintNotifications: 'disabled',
      // No timer per command (node-redis makes one unless told 0): the deadline groups of `call` cover them.
      commandOptions: { timeout: 0 },
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
    // original layout + durability: begin
    try {
      checkDurability(await readPersistence((args) => store.call(() => store.send(args))), store.durability, store.logger());
    } catch (err) {
      await store.close();
      throw err;
    }
    // original layout + durability: end
    return store;
  }

  async create(agent: string, metadata: Record<string, string> = {}, options: CreateOptions = {}): Promise<SessionInfo> {
    const now = Date.now();
    const stamp = isoAt(now);
    const info: SessionInfo = { id: newSessionId(), agent, created_at: stamp, last_active: stamp, metadata: { ...metadata } };
    if (options.owner !== undefined) info.owner = options.owner;
    const index = this.indexKey(agent);
    // Hash first, then the index entry, on one connection: whoever sees the entry finds the hash.
    // The owner rides right behind the hash; should it fail, create fails, and the id of a session
    // without its owner is never handed to anyone.
    await this.call(async () => {
      await Promise.all([
        this.script(CREATE, this.keys(info.id), [String(this.ttlSeconds), agent, stamp, JSON.stringify(info.metadata)]),
        ...(info.owner === undefined ? [] : [this.send(['HSET', this.metaKey(info.id), 'owner', info.owner])]),
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
    const info = this.parseInfo(id, flat);
    if (info === null && (await this.original.adopt(id))) return this.get(id); // original layout
    return info;
  }

  async touch(id: string): Promise<void> {
    if (!isSessionId(id)) throw new SessionNotFoundError(id);
    const now = Date.now();
    const known = this.agents.get(id);
    const [saved, indexed] = await this.call(
      () =>
        Promise.allSettled([
          this.script(TOUCH, [...this.keys(id), this.idempotencyKey(id)], [String(this.ttlSeconds), isoAt(now)]),
          known === undefined ? Promise.resolve(null) : this.send(this.indexRefresh(known, id, now)),
        ]),
      id,
    );
    if (saved.status === 'rejected') throw this.translate(saved.reason, id);
    if (saved.value === null) {
      if (await this.original.adopt(id)) return this.touch(id); // original layout
      throw new SessionNotFoundError(id);
    }
    const agent = asStrings([saved.value])[0]!;
    await this.afterIndexRefresh(id, agent, now, known === undefined ? undefined : indexed);
  }

  async delete(id: string): Promise<boolean> {
    if (!isSessionId(id)) return false;
    const agent = await this.call(() => this.script(DELETE, this.allKeys(id), []), id);
    this.agents.delete(id);
    this.forgetTail(id);
    if (agent === null) return (await this.original.adopt(id)) && this.delete(id); // original layout: moved, then deleted
    // original layout: the backups, and original keys an interrupted migration left, go with it.
    await this.original.discard(id);
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
    const hashes = await this.call(() => Promise.allSettled(ids.map((id) => this.send(['HGETALL', this.metaKey(id)]))));
    const out: SessionInfo[] = [];
    const gone: string[] = [];
    ids.forEach((id, i) => {
      const h = hashes[i]!;
      // One unreadable session (a key of the wrong type, bad metadata) must not hide all the others.
      try {
        if (h.status === 'rejected') throw this.translate(h.reason, id);
        const info = this.parseInfo(id, h.value);
        if (info === null) gone.push(id);
        else out.push(info);
      } catch (err) {
        if (err instanceof SessionStoreUnavailableError) throw err;
        this.logger().warn({ err, sessionId: id, agent }, 'skipping an unreadable session in the agent listing');
      }
    });
    // Expired between the index trim and the read, or deleted by a process that died before its ZREM.
    if (gone.length > 0) await this.call(() => this.send(['ZREM', index, ...gone]));
    return sortByActivity(out);
  }

  /** Live sessions of `agent` from its index alone: expired entries trimmed, then ZCARD. */
  async count(agent: string): Promise<number> {
    const index = this.indexKey(agent);
    return this.call(async () => {
      const [, n] = await Promise.all([this.send(['ZREMRANGEBYSCORE', index, '-inf', String(Date.now())]), this.send(['ZCARD', index])]);
      return Number(n);
    });
  }

  /**
   * One script (APPEND in redis-scripts.ts): the session check, the fence check, the
   * idempotency record, RPUSH of the messages with their seq, last_active, EXPIREs, the lease
   * release and ZADD XX of the index entry when this process knows the session's agent. A
   * missing session or a stale fence writes nothing. On a Cluster the index is in another slot
   * and would have to go in a command of its own.
   */
  async appendMessages(id: string, messages: Message[], options: AppendOptions = {}): Promise<number> {
    assertMessages(messages);
    assertSummary(options.summary);
    if (!isSessionId(id)) throw new SessionNotFoundError(id);
    const now = Date.now();
    const known = this.agents.get(id);
    const idem = options.idempotency;
    const keys = [this.metaKey(id), this.messagesKey(id), this.leaseKey(id), this.idempotencyKey(id)];
    if (known !== undefined) keys.push(this.indexKey(known));
    const args = [
      String(this.ttlSeconds),
      isoAt(now),
      options.fence === undefined ? '' : String(options.fence),
      options.leaseToken ?? '',
      idem?.key ?? '',
      idem === undefined ? '' : `${idem.requestHash}\n${idem.response}`,
      known === undefined ? '' : String(now + this.ttlSeconds * 1000),
      id,
      options.summary === undefined ? '' : JSON.stringify(options.summary),
      ...messages.map((m) => JSON.stringify(withoutSeq(m))),
    ];
    // durability: WAITAOF goes right behind the script on the same connection, so it covers the
    // append without a round trip of its own; a script sent again after it needs another one.
    const resent = this.resent;
    const fsync = this.durability === 'fsync';
    const [saved, onDisk] = fsync
      ? await Promise.allSettled([this.scriptMigrating(id, APPEND, keys, args), this.confirmOnDisk(id)])
      : [{ status: 'fulfilled' as const, value: await this.scriptMigrating(id, APPEND, keys, args) }, undefined];
    if (saved.status === 'rejected') throw saved.reason;
    const [status, value, agent] = asReplyList(saved.value);
    if (status === 'missing') {
      this.agents.delete(id);
      this.forgetTail(id);
      // original layout: a session this process has not seen may still be in it. The script wrote
      // nothing, so once it is moved the messages go after the migrated ones.
      if (known === undefined && (await this.original.adopt(id))) return this.appendMessages(id, messages, options);
      throw new SessionNotFoundError(id);
    }
    if (status === 'fenced') throw new FencedAppendError(id, options.fence ?? 0, Number(value));
    if (status === 'used') throw new IdempotencyKeyUsedError(id, idem?.key ?? '', recordResponse(String(value)));
    this.holdAppended(id, Number(value), args, 9);
    if (known === undefined) await this.afterIndexRefresh(id, String(agent), now, undefined);
    // durability: begin
    if (onDisk !== undefined) {
      if (onDisk.status === 'rejected') throw onDisk.reason;
      if (this.resent !== resent) await this.confirmOnDisk(id);
    }
    // durability: end
    return Number(value);
  }

  async loadMessages(id: string, range?: MessageRange): Promise<MessagePage> {
    const r = normalizeRange(range);
    if (!isSessionId(id)) throw new SessionNotFoundError(id);
    const list = this.messagesKey(id);
    const [start, stop] = lrangeOf(r);
    // In one transaction, so the total, the page and the summary come from the same moment.
    const commands = [
      ['HGET', this.metaKey(id), 'agent'],
      ['LLEN', list],
      ['LRANGE', list, String(start), String(stop)],
      ...(r.tail === undefined ? [] : [['HGET', this.metaKey(id), 'summary']]),
    ];
    const replies = await this.transactionMigrating(id, commands, 1);
    if (replies[0] === null) {
      if (await this.original.adopt(id)) return this.loadMessages(id, range); // original layout
      throw new SessionNotFoundError(id);
    }
    this.throwFirstError(replies, id);
    this.rememberAgent(id, String(replies[0]));
    const total = Number(replies[1]);
    const page: MessagePage = { messages: this.parsePage(id, replies[2], r, total), total };
    const summary = r.tail === undefined || replies[3] === null ? undefined : this.parseSummary(id, String(replies[3]));
    if (summary !== undefined) page.summary = summary;
    return page;
  }

  /** One script (BEGIN_TURN in redis-scripts.ts): the session, its idempotency record, the lease or a place in the queue, and the page. */
  async beginTurn(id: string, req: BeginTurnRequest): Promise<BeginTurnResult> {
    const r = normalizeRange(req.range);
    if (!isSessionId(id)) throw new SessionNotFoundError(id);
    const [start, stop] = lrangeOf(r);
    const keys = [this.metaKey(id), this.messagesKey(id), this.leaseKey(id), this.queueKey(id), this.waitersKey(id), this.idempotencyKey(id)];
    const args = [
      req.token,
      String(req.leaseTtlMs),
      req.mode,
      String(req.waiterTtlMs),
      req.idempotency?.key ?? '',
      req.idempotency?.requestHash ?? '',
      String(start),
      String(stop),
    ];
    // A tail comes from the start of the window held since the last turn, when there is one.
    const held = r.tail === undefined || r.tail === 0 ? undefined : this.tails.get(id);
    if (held !== undefined) args.push(String(held.base), String(held.base + held.items.length), held.created);
    const reply = asReplyList(await this.scriptMigrating(id, BEGIN_TURN, keys, args));
    // Read once: the session's info and its running summary both come from it ({} when missing).
    const hash = asHash(reply[1]);
    const info = reply[0] === 'missing' ? null : this.infoOf(id, hash);
    if (info === null) {
      this.forgetTail(id);
      if (await this.original.adopt(id)) return this.beginTurn(id, req); // original layout
      throw new SessionNotFoundError(id);
    }
    this.rememberAgent(id, info.agent);
    switch (reply[0]) {
      case 'replay':
        return { status: 'replay', info, response: String(reply[2]) };
      case 'conflict':
        return { status: 'conflict', info };
      case 'busy':
        return { status: 'busy', info, retryAfterMs: Math.max(0, Number(reply[2])) };
      default: {
        const [, , fence, interrupted, total, page, from] = reply;
        const count = Number(total);
        const messages = r.tail === undefined || r.tail === 0 ? this.parsePage(id, page, r, count) : this.tailPage(id, info.created_at, count, r.tail, Number(from), page, held);
        const window: MessagePage = { messages, total: count };
        // The running summary is a hash field, so it came with the hash, from the same moment.
        const summary = r.tail === undefined ? undefined : this.parseSummary(id, hash.summary);
        if (summary !== undefined) window.summary = summary;
        return {
          status: 'acquired',
          info,
          fence: Number(fence),
          page: window,
          ...(interrupted === '' || interrupted === undefined ? {} : { interrupted: String(interrupted) }),
        };
      }
    }
  }

  async renewLease(id: string, token: string, ttlMs: number): Promise<boolean> {
    const renewed = await this.call(() => this.script(RENEW_LEASE, [this.leaseKey(id)], [token, String(ttlMs)]), id);
    return Number(renewed) === 1;
  }

  async releaseLease(id: string, token: string): Promise<void> {
    await this.call(() => this.script(RELEASE_LEASE, [this.leaseKey(id), this.queueKey(id), this.waitersKey(id)], [token]), id);
  }

  async claimRequest(scope: string, claim: RequestClaim): Promise<RequestClaimResult> {
    const reply = asReplyList(await this.call(() => this.script(CLAIM_REQUEST, [this.requestKey(scope, claim.key)], [claim.requestHash, claim.token, String(claim.ttlMs)])));
    if (reply[0] === 'claimed') return { status: 'claimed' };
    if (reply[0] === 'replay') return { status: 'replay', response: String(reply[1]) };
    if (reply[0] === 'running') return { status: 'running', retryAfterMs: Math.max(0, Number(reply[1])) };
    return { status: 'conflict' };
  }

  async renewRequest(scope: string, key: string, token: string, ttlMs: number): Promise<boolean> {
    return Number(await this.call(() => this.script(SETTLE_REQUEST, [this.requestKey(scope, key)], [token, 'renew', String(ttlMs)]))) === 1;
  }

  async completeRequest(scope: string, key: string, token: string, response: string, ttlSeconds: number): Promise<void> {
    await this.call(() => this.script(SETTLE_REQUEST, [this.requestKey(scope, key)], [token, 'complete', response, String(ttlSeconds)]));
  }

  async releaseRequest(scope: string, key: string, token: string): Promise<void> {
    await this.call(() => this.script(SETTLE_REQUEST, [this.requestKey(scope, key)], [token, 'release']));
  }

  /** The messages of an LRANGE reply; unreadable elements are logged and skipped, and so is anything at or below afterSeq. */
  private parsePage(id: string, reply: unknown, r: NormalizedRange, total: number): Message[] {
    const first = r.tail === undefined ? r.offset : Math.max(0, total - r.tail);
    const messages: Message[] = [];
    asStrings(reply).forEach((raw, i) => {
      const message = elementAt(raw, first + i);
      if (typeof message === 'string') this.skipUnreadable(id, first + i, message);
      else if (r.afterSeq === undefined || message.seq! > r.afterSeq) messages.push(message);
    });
    return messages;
  }

  private skipUnreadable(id: string, index: number, reason: string): void {
    this.logger().warn({ sessionId: id, index, reason }, 'skipping an unreadable message in the session history');
  }

  /**
   * The tail of a turn: the elements the script sent (from list index `from` on) after those of
   * the held window it did not send again. The result is held for the next turn; its messages are
   * frozen, since the next turn hands out the same objects. The held array only grows while the
   * script goes on from its end, and is started again from the tail once what lies before the
   * tail is as long as the tail: its pages are then declared stretches of it (see stretches.ts),
   * which the counts of a turn read only for what is new.
   */
  private tailPage(id: string, created: string, total: number, tail: number, from: number, reply: unknown, held: HeldTail | undefined): Message[] {
    const first = Math.max(0, total - tail);
    let h: HeldTail;
    if (held !== undefined && from > first && first >= held.base && from === held.base + held.items.length) {
      // The script only skips elements the request said are held, of the same session.
      this.forgetTail(id);
      h = held;
    } else if (from > first) {
      h = heldPart(held!, first, from, created);
    } else {
      h = { created, base: first, items: [], sizes: [], chars: 0, unreadable: 0 };
    }
    const fresh = asStrings(reply);
    for (let i = 0; i < fresh.length; i++) {
      const raw = fresh[i]!;
      const message = elementAt(raw, from + i);
      if (typeof message === 'string') h.unreadable++;
      h.items.push(typeof message === 'string' ? message : deepFreeze(message));
      h.sizes.push(raw.length);
      h.chars += raw.length;
    }
    if (first - h.base > tail) h = heldPart(h, first, h.base + h.items.length, created);
    this.hold(id, h);
    const start = first - h.base;
    // A copy: the held array grows with this process's appends, the caller's page must not.
    if (h.unreadable === 0) return declareStretch(h.items.slice(start) as Message[], h.items as Message[], start);
    const messages: Message[] = [];
    for (let i = start; i < h.items.length; i++) {
      const m = h.items[i]!;
      if (typeof m === 'string') this.skipUnreadable(id, h.base + i, m);
      else messages.push(m);
    }
    return messages;
  }

  /**
   * After an append of `args.length - from` messages that ended at `last`: a held window that
   * reaches up to them grows by them (as stored: the script puts the seq in front of each), so the
   * next turn's tail need not fetch what this process just wrote.
   */
  private holdAppended(id: string, last: number, args: string[], from: number): void {
    const held = this.tails.get(id);
    if (held === undefined) return;
    const n = args.length - from;
    if (held.base + held.items.length !== last - n) {
      // Someone else appended in between: what is held no longer ends where the list does.
      this.forgetTail(id);
      return;
    }
    for (let i = 0; i < n; i++) {
      const json = args[from + i]!;
      const stored = `{"seq":${last - n + i + 1},${json.slice(1)}`;
      const message = elementAt(stored, last - n + i);
      if (typeof message === 'string') {
        // Never expected of what this store just wrote: the next turn reads the tail afresh.
        this.forgetTail(id);
        return;
      }
      held.items.push(deepFreeze(message));
      held.sizes.push(stored.length);
      held.chars += stored.length;
      this.tailChars += stored.length;
    }
    this.evictTails();
  }

  private hold(id: string, tail: HeldTail): void {
    this.forgetTail(id);
    this.tails.set(id, tail);
    this.tailChars += tail.chars;
    this.evictTails();
  }

  private forgetTail(id: string): void {
    const held = this.tails.get(id);
    if (held === undefined) return;
    this.tails.delete(id);
    this.tailChars -= held.chars;
  }

  /** The least recently read windows go first (a Map iterates in insertion order, and a turn re-inserts its session). */
  private evictTails(): void {
    while ((this.tailChars > TAIL_CACHE_CHARS || this.tails.size > AGENT_CACHE_SIZE) && this.tails.size > 0) {
      this.forgetTail(this.tails.keys().next().value!);
    }
  }

  /** A summary that cannot be read is logged and left out: the next turn that folds history writes a new one. */
  private parseSummary(id: string, raw: string | undefined): SessionSummary | undefined {
    if (raw === undefined) return undefined;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (err) {
      this.logger().warn({ sessionId: id, reason: errorMessage(err) }, 'ignoring an unreadable session summary');
      return undefined;
    }
    const problem = summaryProblem(value);
    if (problem !== null) {
      this.logger().warn({ sessionId: id, reason: problem }, 'ignoring an unreadable session summary');
      return undefined;
    }
    return value as SessionSummary;
  }

  async close(): Promise<void> {
    this.deadlines.stop();
    if (!this.client.isOpen) return;
    try {
      await this.client.close();
    } catch (err) {
      // Closing while disconnected cannot flush anything; dropping the socket is all that is left.
      this.logger().warn({ err }, 'closing the redis session store failed; dropping the connection');
      if (this.client.isOpen) this.client.destroy();
    }
  }

  // durability: begin
  /** WAITAOF on the connection that sent the append: it covers every write sent before it. Sent before its first await. */
  private async confirmOnDisk(id: string): Promise<void> {
    const timeoutMs = waitAofTimeoutMs(this.timeout);
    assertOnDisk(await this.call(() => this.send(waitAofCommand(timeoutMs)), id), id, timeoutMs);
  }
  // durability: end

  /** ZADD XX only updates an entry that is still there, so it never revives a deleted session in the listing. */
  private indexRefresh(agent: string, id: string, now: number): string[] {
    return ['ZADD', this.indexKey(agent), 'XX', String(now + this.ttlSeconds * 1000), id];
  }

  /**
   * Finishes the index refresh of a touch or append that succeeded. `sent` is the outcome of the
   * ZADD that went with it, or undefined when this process did not know the agent yet and sends it
   * now. A failed index update only delays the session's place in the listing, so it is logged,
   * not thrown: the messages are already saved and a caller told otherwise would send them twice.
   */
  private async afterIndexRefresh(id: string, agent: string, now: number, sent: PromiseSettledResult<unknown> | undefined): Promise<void> {
    try {
      if (sent === undefined) {
        this.rememberAgent(id, agent);
        await this.call(() => this.send(this.indexRefresh(agent, id, now)));
      } else if (sent.status === 'rejected') {
        throw sent.reason;
      }
    } catch (err) {
      this.logger().warn({ err, sessionId: id, agent }, 'saved, but could not refresh the session in its agent listing');
    }
  }

  /**
   * Runs a transaction whose command at `listCommand` reads or writes the message list; when Redis
   * answers WRONGTYPE there (an old string history), converts the history and runs it once more.
   * A session that does not exist (first reply nil) is returned as is, unconverted.
   */
  private async transactionMigrating(id: string, commands: string[][], listCommand: number): Promise<unknown[]> {
    const first = await this.call(() => this.transaction(commands), id);
    if (first[0] === null || !isWrongType(first[listCommand])) return first;
    await this.call(() => this.script(MIGRATE, this.keys(id), []), id);
    return this.call(() => this.transaction(commands), id);
  }

  /**
   * A turn script. Each converts an old string history itself, asking for the key's type only
   * while the hash has no `seq`; should a string history turn up beside one anyway (written by
   * something other than this store), Redis refuses the script's first list command before it
   * wrote anything, and the history is converted and the script run once more.
   */
  private async scriptMigrating(id: string, s: RedisScript, keys: string[], args: string[]): Promise<unknown> {
    try {
      return await this.call(() => this.script(s, keys, args), id);
    } catch (err) {
      if (!(err instanceof SessionStoreError && isWrongType(err.cause))) throw err;
      this.resent++;
      await this.call(() => this.script(MIGRATE, this.keys(id), []), id);
      return this.call(() => this.script(s, keys, args), id);
    }
  }

  /**
   * One MULTI/EXEC round trip. Returns every reply, failed commands as their ErrorReply: Redis runs
   * the rest of a transaction when one command fails, so the caller decides what each failure means.
   */
  private async transaction(commands: string[][]): Promise<unknown[]> {
    // disableOfflineQueue covers single commands only; a transaction would wait for the reconnect,
    // and run after its caller had been told it failed.
    if (!this.client.isReady) throw new ClientOfflineError();
    const multi = this.client.multi();
    // Counted, as every command the client is given (see UnwrittenCommands), without a signal:
    // the transactions only read, and one sent late changes nothing.
    let size = MULTI_EXEC_BYTES;
    for (const c of commands) {
      multi.addCommand(c);
      size += commandBytes(c);
    }
    this.unwritten.given(size);
    const replies = multi.exec();
    this.settles(replies, size);
    try {
      return (await replies) as unknown[];
    } catch (err) {
      if (err instanceof MultiErrorReply) return err.replies;
      throw err;
    }
  }

  private throwFirstError(replies: unknown[], id: string): void {
    const failed = replies.find((r) => r instanceof ErrorReply);
    if (failed !== undefined) throw this.translate(failed, id);
  }

  private rememberAgent(id: string, agent: string): void {
    // Bounded: the oldest entry goes first (a Map iterates in insertion order).
    if (this.agents.size >= AGENT_CACHE_SIZE) this.agents.delete(this.agents.keys().next().value!);
    this.agents.set(id, agent);
  }

  /** Sends the command at once (before its first await), so what the caller sends next goes after it. */
  private async script(s: RedisScript, keys: string[], args: string[]): Promise<unknown> {
    const command = ['EVALSHA', s.sha1, String(keys.length), ...keys, ...args];
    // The deadline of the call this runs in: its group is the open one now.
    const deadline = this.deadlines.signal();
    try {
      return await this.send(command, deadline);
    } catch (err) {
      // A restarted or flushed server has forgotten the script: send it once in full, unless
      // the call's time is up (its caller has been told it failed, and may be retrying).
      if (!(err instanceof ErrorReply && err.message.startsWith('NOSCRIPT')) || deadline.aborted) throw err;
      this.resent++;
      command[0] = 'EVAL';
      command[1] = s.source;
      return this.send(command, deadline);
    }
  }

  /**
   * A command that has not been written when its deadline passes is dropped, never sent late:
   * it gets the deadline's signal whenever it could be left unwritten (see UnwrittenCommands).
   */
  private send(args: string[], deadline?: DeadlineSignal): Promise<unknown> {
    const size = commandBytes(args);
    // The open group's signal, looked up only for a command that gets it (the call it runs in joined that group).
    const signal = this.unwritten.given(size) ? (deadline ?? this.deadlines.signal()).asAbortSignal() : undefined;
    const reply = this.client.sendCommand(args, signal === undefined ? undefined : { abortSignal: signal });
    this.settles(reply, size);
    return reply;
  }

  /** Uncounts a command (or a transaction) of `size` bytes once the client settled it; its outcome is the caller's. */
  private settles(reply: Promise<unknown>, size: number): void {
    const answered = (): void => this.unwritten.answered(size);
    reply.then(answered, answered);
  }

  /**
   * Runs Redis calls under one deadline, turning every failure into one of the session errors a
   * caller can act on. The deadline covers the whole call, written or not: a server that accepts
   * a command and then stalls must not hold the caller forever.
   */
  private call<T>(fn: () => Promise<T>, sessionId?: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const fail = (err: unknown): void => reject(this.translate(err, sessionId));
      const pending = this.deadlines.join(fail);
      // The late outcome of fn is observed here too, so a reply (or error) after the deadline is dropped, not unhandled.
      const settle = (ok: boolean, value: unknown): void => {
        pending.delete(fail);
        if (ok) resolve(value as T);
        else fail(value);
      };
      let running: Promise<T>;
      try {
        running = fn();
      } catch (err) {
        settle(false, err);
        return;
      }
      running.then(
        (v) => settle(true, v),
        (err: unknown) => settle(false, err),
      );
    });
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
    return this.infoOf(id, asHash(flat));
  }

  private infoOf(id: string, h: Record<string, string>): SessionInfo | null {
    const { agent, created_at, last_active } = h;
    // The agent field is what makes a session exist: an append to a session deleted or expired
    // under it leaves a hash of last_active alone for the moment until it removes it.
    if (agent === undefined) return null;
    if (created_at === undefined || last_active === undefined) {
      throw new SessionCorruptError(id, 'the session hash lacks created_at or last_active');
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
    const info: SessionInfo = { id, agent, created_at, last_active, metadata: metadata as Record<string, string> };
    if (h.owner !== undefined) info.owner = h.owner;
    return info;
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

  /** The turn lease: a string holding the token of the turn that runs, with a TTL. */
  leaseKey(id: string): string {
    return `${this.prefix}:session:{${id}}:lease`;
  }

  /** Turns waiting for the lease: a sorted set of tokens scored by arrival ticket. */
  queueKey(id: string): string {
    return `${this.prefix}:session:{${id}}:queue`;
  }

  /** The same tokens scored by the time (ms) their waiter must ask again by, or lose its place. */
  waitersKey(id: string): string {
    return `${this.prefix}:session:{${id}}:waiters`;
  }

  /** The idempotency record of a request without a session, by agent (`scope`) and key. */
  requestKey(scope: string, key: string): string {
    return `${this.prefix}:request:{${scope}}:${key}`;
  }

  /** Idempotency key -> request hash, a newline, and the response stored with the turn. */
  idempotencyKey(id: string): string {
    return `${this.prefix}:session:{${id}}:idempotency`;
  }

  private keys(id: string): string[] {
    return [this.metaKey(id), this.messagesKey(id)];
  }

  private allKeys(id: string): string[] {
    return [...this.keys(id), this.leaseKey(id), this.queueKey(id), this.waitersKey(id), this.idempotencyKey(id)];
  }
}

/** What a transaction's MULTI and EXEC add to its commands on the wire. */
const MULTI_EXEC_BYTES = commandBytes(['MULTI']) + commandBytes(['EXEC']);

/** LRANGE's start and stop for a range: stop is inclusive and -1 means "the end", so an empty page needs a range that selects nothing. */
function lrangeOf(r: NormalizedRange): [number, number] {
  if (r.tail !== undefined) return r.tail === 0 ? [1, 0] : [-r.tail, -1];
  if (r.limit === 0) return [1, 0];
  return [r.offset, r.limit === undefined ? -1 : r.offset + r.limit - 1];
}

/** A script's array reply with its strings as strings (nested arrays kept). */
function asReplyList(reply: unknown): unknown[] {
  if (!Array.isArray(reply)) return [];
  return reply.map((x) => (Buffer.isBuffer(x) ? x.toString('utf8') : x));
}

/** The response part of a stored idempotency record (`hash\nresponse`). */
function recordResponse(record: string): string {
  return record.slice(record.indexOf('\n') + 1);
}

function isWrongType(reply: unknown): boolean {
  return reply instanceof ErrorReply && reply.message.startsWith('WRONGTYPE');
}

function asStrings(reply: unknown): string[] {
  if (!Array.isArray(reply)) return [];
  return reply.map(text);
}

/** HGETALL's reply as a record: node-redis hands it back as a flat array, an object or a Map depending on protocol and version. */
function asHash(reply: unknown): Record<string, string> {
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

/** A reply element as a string (the client gives strings unless asked for buffers). */
function text(x: unknown): string {
  return typeof x === 'string' ? x : Buffer.isBuffer(x) ? x.toString('utf8') : String(x);
}

/** The message stored at list index `index`, or why the element cannot be one. */
function elementAt(raw: string, index: number): Message | string {
  const message = parseMessage(raw);
  // Histories stored before seq existed: a message's seq is its place in the list.
  if (typeof message !== 'string') message.seq ??= index + 1;
  return message;
}

/** A new held window: `held`'s elements from list index `from` up to `to`, in arrays of its own. */
function heldPart(held: HeldTail, from: number, to: number, created: string): HeldTail {
  const items = held.items.slice(from - held.base, to - held.base);
  const sizes = held.sizes.slice(from - held.base, to - held.base);
  let chars = 0;
  for (const n of sizes) chars += n;
  let unreadable = 0;
  if (held.unreadable > 0) for (const m of items) if (typeof m === 'string') unreadable++;
  return { created, base: from, items, sizes, chars, unreadable };
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** The message, or why the element cannot be one. */
function parseMessage(raw: string): Message | string {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (err) {
    return `not JSON: ${errorMessage(err)}`;
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
