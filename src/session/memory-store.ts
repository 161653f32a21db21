import { AgentspecError } from '../errors.ts';
import { logger } from '../log.ts';
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
import { FencedAppendError, IdempotencyKeyUsedError, SessionNotFoundError } from './errors.ts';
import { newSessionId } from './ids.ts';
import { isoAt } from './iso-stamp.ts';
import { declareStretch } from './stretches.ts';
import { assertMessages, assertSummary, normalizeRange, type NormalizedRange } from './validate.ts';

export interface MemorySessionStoreOptions {
  /** A session expires this long after its last activity (create, touch, append). Default 1 day. */
  ttlSeconds?: number;
  /** Clock in epoch milliseconds; replaceable so expiry can be exercised without waiting. */
  now?: () => number;
  /** Live sessions one agent may have; create fails with SessionLimitError beyond it. Default 10,000. */
  maxSessionsPerAgent?: number;
  /** How often expired sessions are dropped (0: never, only when looked at). Default 60 s. */
  sweepIntervalMs?: number;
}

/** An agent already has as many live sessions as the store allows; nothing was created. */
export class SessionLimitError extends AgentspecError {
  readonly agent: string;
  readonly limit: number;

  constructor(agent: string, limit: number) {
    super('E_SESSION_LIMIT', `agent "${agent}" already has ${limit} live sessions, the most this store keeps; delete some or wait for them to expire`);
    this.agent = agent;
    this.limit = limit;
  }
}

/** Who holds a session's turn and who waits for it (the in-process twin of the Redis keys). */
interface TurnState {
  /** Grows by one per turn taken. */
  fence: number;
  lease: { token: string; expiresAt: number } | undefined;
  /** Waiting turns in arrival order (a Map iterates in insertion order), each kept until aliveUntil. */
  queue: Map<string, number>;
}

interface Entry {
  info: SessionInfo;
  /** Each one frozen, so pages (slices of this array) hand them out without copying them. Only ever grows. */
  messages: Message[];
  summary?: SessionSummary;
  expiresAt: number;
  turn: TurnState;
  /** Idempotency key -> the request hash and response stored with its turn. */
  idempotency: Map<string, { requestHash: string; response: string }>;
}

export const DEFAULT_SESSION_TTL_SECONDS = 86_400;
export const DEFAULT_MAX_SESSIONS_PER_AGENT = 10_000;
export const DEFAULT_SWEEP_INTERVAL_MS = 60_000;

/**
 * Sessions held in this process. One event loop means every call runs to completion before the
 * next starts, so appends are serialized without locks. Expired sessions are dropped when next
 * looked at and by a periodic sweep, so sessions nobody asks for again do not pile up; each
 * agent's live count is bounded. Messages are frozen when stored and shared on load (copied once
 * per append, never per load). The turn lease, its fence and the queue of waiting turns live
 * beside each session, with the same rules as the Redis store's scripts.
 */
export class MemorySessionStore implements SessionStore {
  private readonly sessions = new Map<string, Entry>();
  private readonly byAgent = new Map<string, Set<string>>();
  private readonly ttlMs: number;
  private readonly now: () => number;
  private readonly maxPerAgent: number;
  private readonly sweeper: NodeJS.Timeout | undefined;
  /** Idempotency records of requests without a session, by scope and key. */
  private readonly requests = new Map<string, { requestHash: string; token: string | undefined; response: string | undefined; expiresAt: number }>();

  constructor(opts: MemorySessionStoreOptions = {}) {
    const ttl = opts.ttlSeconds ?? DEFAULT_SESSION_TTL_SECONDS;
    if (!(ttl > 0)) throw new RangeError(`ttlSeconds must be positive, got ${ttl}`);
    this.ttlMs = ttl * 1000;
    this.now = opts.now ?? Date.now;
    this.maxPerAgent = opts.maxSessionsPerAgent ?? DEFAULT_MAX_SESSIONS_PER_AGENT;
    if (!(this.maxPerAgent > 0)) throw new RangeError(`maxSessionsPerAgent must be positive, got ${this.maxPerAgent}`);
    const every = opts.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS;
    if (every > 0) {
      this.sweeper = setInterval(() => this.sweep(), every);
      // The sweep must never be what keeps a process alive.
      this.sweeper.unref();
    }
  }

  async create(agent: string, metadata: Record<string, string> = {}, options: CreateOptions = {}): Promise<SessionInfo> {
    const at = this.now();
    const stamp = new Date(at).toISOString();
    if ((this.byAgent.get(agent)?.size ?? 0) >= this.maxPerAgent) {
      // Full, unless some of them expired since the last sweep.
      this.sweepAgent(agent);
      if ((this.byAgent.get(agent)?.size ?? 0) >= this.maxPerAgent) throw new SessionLimitError(agent, this.maxPerAgent);
    }
    const info: SessionInfo = { id: newSessionId(), agent, created_at: stamp, last_active: stamp, metadata: { ...metadata } };
    if (options.owner !== undefined) info.owner = options.owner;
    this.sessions.set(info.id, {
      info,
      messages: [],
      expiresAt: at + this.ttlMs,
      turn: { fence: 0, lease: undefined, queue: new Map() },
      idempotency: new Map(),
    });
    let ids = this.byAgent.get(agent);
    if (ids === undefined) this.byAgent.set(agent, (ids = new Set()));
    ids.add(info.id);
    return copyInfo(info);
  }

  async get(id: string): Promise<SessionInfo | null> {
    const entry = this.live(id);
    return entry === undefined ? null : copyInfo(entry.info);
  }

  async touch(id: string): Promise<void> {
    this.activate(this.require(id));
  }

  async delete(id: string): Promise<boolean> {
    const entry = this.live(id);
    if (entry === undefined) return false;
    this.drop(entry);
    return true;
  }

  async list(agent: string): Promise<SessionInfo[]> {
    const ids = this.byAgent.get(agent);
    if (ids === undefined) return [];
    const out: SessionInfo[] = [];
    for (const id of [...ids]) {
      const entry = this.live(id);
      if (entry !== undefined) out.push(copyInfo(entry.info));
    }
    return sortByActivity(out);
  }

  /** O(1): the agent's sessions as of the last sweep, minus any expired since that were looked at. */
  async count(agent: string): Promise<number> {
    return this.byAgent.get(agent)?.size ?? 0;
  }

  /** Drops every expired session; returns how many. */
  sweep(): number {
    const at = this.now();
    let dropped = 0;
    for (const entry of this.sessions.values()) {
      if (entry.expiresAt <= at) {
        this.drop(entry);
        dropped++;
      }
    }
    for (const [id, rec] of this.requests) if (rec.expiresAt <= at) this.requests.delete(id);
    if (dropped > 0) logger('session').debug({ dropped, left: this.sessions.size }, 'expired sessions swept');
    return dropped;
  }

  async appendMessages(id: string, messages: Message[], options: AppendOptions = {}): Promise<number> {
    assertMessages(messages);
    assertSummary(options.summary);
    const entry = this.require(id);
    const { turn } = entry;
    if (options.fence !== undefined && options.fence !== turn.fence) throw new FencedAppendError(id, options.fence, turn.fence);
    const idem = options.idempotency;
    const earlier = idem === undefined ? undefined : entry.idempotency.get(idem.key);
    if (idem !== undefined && earlier !== undefined) throw new IdempotencyKeyUsedError(id, idem.key, earlier.response);
    // Copied and frozen once here, so loads can hand out the stored objects themselves: a caller
    // can neither change history through the objects it appended nor through those it loaded.
    // All are copied before any is stored: a message that cannot be cloned stores none of them.
    const base = entry.messages.length;
    const stored = messages.map((m, i) => storedCopy(m, base + i + 1));
    for (const m of stored) entry.messages.push(m);
    if (idem !== undefined) entry.idempotency.set(idem.key, { requestHash: idem.requestHash, response: idem.response });
    if (options.leaseToken !== undefined && turn.lease?.token === options.leaseToken) turn.lease = undefined;
    if (options.summary !== undefined) entry.summary = { text: options.summary.text, covers: options.summary.covers };
    this.activate(entry);
    return entry.messages.length;
  }

  async loadMessages(id: string, range?: MessageRange): Promise<MessagePage> {
    const r = normalizeRange(range);
    return this.page(this.require(id), r);
  }

  async beginTurn(id: string, req: BeginTurnRequest): Promise<BeginTurnResult> {
    const r = normalizeRange(req.range);
    const entry = this.require(id);
    if (req.idempotency !== undefined) {
      const earlier = entry.idempotency.get(req.idempotency.key);
      if (earlier !== undefined) {
        // This request is answered either way: it gives up any place it had in the queue.
        entry.turn.queue.delete(req.token);
        const info = copyInfo(entry.info);
        return earlier.requestHash === req.idempotency.requestHash ? { status: 'replay', info, response: earlier.response } : { status: 'conflict', info };
      }
    }
    const now = this.now();
    const { turn } = entry;
    if (turn.queue.size > 0) for (const [token, aliveUntil] of turn.queue) if (aliveUntil <= now) turn.queue.delete(token);
    const holder = turn.lease !== undefined && turn.lease.expiresAt > now ? turn.lease.token : undefined;
    const head: string | undefined = turn.queue.keys().next().value;
    const free = req.mode === 'interrupt' || ((holder === undefined || holder === req.token) && (head === undefined || head === req.token));
    if (!free) {
      // Map.set of a waiting token keeps its place: only its deadline moves.
      if (req.mode === 'enqueue') turn.queue.set(req.token, now + req.waiterTtlMs);
      return { status: 'busy', info: copyInfo(entry.info), retryAfterMs: holder === undefined ? 0 : turn.lease!.expiresAt - now };
    }
    turn.queue.delete(req.token);
    turn.lease = { token: req.token, expiresAt: now + req.leaseTtlMs };
    turn.fence += 1;
    const acquired: BeginTurnResult = { status: 'acquired', fence: turn.fence, info: copyInfo(entry.info), page: this.page(entry, r) };
    if (holder !== undefined && holder !== req.token) acquired.interrupted = holder;
    return acquired;
  }

  async renewLease(id: string, token: string, ttlMs: number): Promise<boolean> {
    const lease = this.live(id)?.turn.lease;
    if (lease === undefined || lease.token !== token || lease.expiresAt <= this.now()) return false;
    lease.expiresAt = this.now() + ttlMs;
    return true;
  }

  async releaseLease(id: string, token: string): Promise<void> {
    const turn = this.live(id)?.turn;
    if (turn === undefined) return;
    turn.queue.delete(token);
    if (turn.lease?.token === token) turn.lease = undefined;
  }

  async claimRequest(scope: string, claim: RequestClaim): Promise<RequestClaimResult> {
    const now = this.now();
    const id = requestId(scope, claim.key);
    const rec = this.liveRequest(id);
    if (rec === undefined) {
      this.requests.set(id, { requestHash: claim.requestHash, token: claim.token, response: undefined, expiresAt: now + claim.ttlMs });
      return { status: 'claimed' };
    }
    if (rec.requestHash !== claim.requestHash) return { status: 'conflict' };
    if (rec.response !== undefined) return { status: 'replay', response: rec.response };
    return { status: 'running', retryAfterMs: rec.expiresAt - now };
  }

  async renewRequest(scope: string, key: string, token: string, ttlMs: number): Promise<boolean> {
    const rec = this.liveRequest(requestId(scope, key));
    if (rec?.token !== token) return false;
    rec.expiresAt = this.now() + ttlMs;
    return true;
  }

  async completeRequest(scope: string, key: string, token: string, response: string, ttlSeconds: number): Promise<void> {
    const rec = this.liveRequest(requestId(scope, key));
    if (rec?.token !== token) return;
    rec.token = undefined;
    rec.response = response;
    rec.expiresAt = this.now() + ttlSeconds * 1000;
  }

  async releaseRequest(scope: string, key: string, token: string): Promise<void> {
    const id = requestId(scope, key);
    if (this.liveRequest(id)?.token === token) this.requests.delete(id);
  }

  private liveRequest(id: string): { requestHash: string; token: string | undefined; response: string | undefined; expiresAt: number } | undefined {
    const rec = this.requests.get(id);
    if (rec !== undefined && rec.expiresAt <= this.now()) {
      this.requests.delete(id);
      return undefined;
    }
    return rec;
  }

  private page(entry: Entry, r: NormalizedRange): MessagePage {
    const all = entry.messages;
    const start = r.tail === undefined ? r.offset : Math.max(0, all.length - r.tail);
    const end = r.limit === undefined ? undefined : start + r.limit;
    // Frozen and declared a stretch of the history: what counts over it reads only what is new.
    const page: MessagePage = { messages: declareStretch(all.slice(start, end), all, start), total: all.length };
    // A window (tail) read carries the running summary of what lies before it.
    if (r.tail !== undefined && entry.summary !== undefined) page.summary = { ...entry.summary };
    return page;
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.sessions.clear();
    this.byAgent.clear();
    this.requests.clear();
  }

  private live(id: string): Entry | undefined {
    const entry = this.sessions.get(id);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.drop(entry);
      return undefined;
    }
    return entry;
  }

  private sweepAgent(agent: string): void {
    for (const id of [...(this.byAgent.get(agent) ?? [])]) this.live(id);
  }

  private require(id: string): Entry {
    const entry = this.live(id);
    if (entry === undefined) throw new SessionNotFoundError(id);
    return entry;
  }

  private activate(entry: Entry): void {
    const at = this.now();
    entry.info.last_active = isoAt(at);
    entry.expiresAt = at + this.ttlMs;
  }

  private drop(entry: Entry): void {
    this.sessions.delete(entry.info.id);
    const ids = this.byAgent.get(entry.info.agent);
    ids?.delete(entry.info.id);
    if (ids?.size === 0) this.byAgent.delete(entry.info.agent);
  }
}

function requestId(scope: string, key: string): string {
  return `${scope}\u0000${key}`;
}

/**
 * The message as stored: a frozen copy with its seq. Strings and numbers are taken as they are;
 * only what can be changed through a reference (tool calls, results, other objects) is cloned,
 * and frozen with the copy.
 */
function storedCopy(m: Message, seq: number): Message {
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(m)) {
    if (key === 'seq') continue;
    const v = (m as unknown as Record<string, unknown>)[key];
    copy[key] = v === undefined || v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? v : deepFreeze(structuredClone(v));
  }
  copy.seq = seq;
  return Object.freeze(copy) as unknown as Message;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

function copyInfo(info: SessionInfo): SessionInfo {
  return { ...info, metadata: { ...info.metadata } };
}

/** Most recently active first; ties broken by id so the order is stable. */
export function sortByActivity(sessions: SessionInfo[]): SessionInfo[] {
  return sessions.sort((a, b) => (a.last_active === b.last_active ? (a.id < b.id ? -1 : 1) : a.last_active < b.last_active ? 1 : -1));
}
