import type { Message, MessagePage, MessageRange, SessionInfo, SessionStore } from './types.ts';
import { SessionNotFoundError } from './errors.ts';
import { newSessionId } from './ids.ts';
import { assertMessages, normalizeRange } from './validate.ts';

export interface MemorySessionStoreOptions {
  /** A session expires this long after its last activity (create, touch, append). Default 1 day. */
  ttlSeconds?: number;
  /** Clock in epoch milliseconds; replaceable so expiry can be exercised without waiting. */
  now?: () => number;
}

interface Entry {
  info: SessionInfo;
  messages: Message[];
  expiresAt: number;
}

export const DEFAULT_SESSION_TTL_SECONDS = 86_400;

/**
 * Sessions held in this process. One event loop means every call runs to completion before the
 * next starts, so appends are serialized without locks. Expired sessions are dropped when next
 * looked at rather than by a timer.
 */
export class MemorySessionStore implements SessionStore {
  private readonly sessions = new Map<string, Entry>();
  private readonly byAgent = new Map<string, Set<string>>();
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(opts: MemorySessionStoreOptions = {}) {
    const ttl = opts.ttlSeconds ?? DEFAULT_SESSION_TTL_SECONDS;
    if (!(ttl > 0)) throw new RangeError(`ttlSeconds must be positive, got ${ttl}`);
    this.ttlMs = ttl * 1000;
    this.now = opts.now ?? Date.now;
  }

  async create(agent: string, metadata: Record<string, string> = {}): Promise<SessionInfo> {
    const at = this.now();
    const stamp = new Date(at).toISOString();
    const info: SessionInfo = { id: newSessionId(), agent, created_at: stamp, last_active: stamp, metadata: { ...metadata } };
    this.sessions.set(info.id, { info, messages: [], expiresAt: at + this.ttlMs });
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

  async appendMessages(id: string, messages: Message[]): Promise<number> {
    assertMessages(messages);
    const entry = this.require(id);
    // Copies, so that a caller mutating its objects later cannot rewrite stored history.
    entry.messages.push(...messages.map((m) => structuredClone(m)));
    this.activate(entry);
    return entry.messages.length;
  }

  async loadMessages(id: string, range?: MessageRange): Promise<MessagePage> {
    const { offset, limit } = normalizeRange(range);
    const entry = this.require(id);
    const end = limit === undefined ? undefined : offset + limit;
    return { messages: entry.messages.slice(offset, end).map((m) => structuredClone(m)), total: entry.messages.length };
  }

  async close(): Promise<void> {
    this.sessions.clear();
    this.byAgent.clear();
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

  private require(id: string): Entry {
    const entry = this.live(id);
    if (entry === undefined) throw new SessionNotFoundError(id);
    return entry;
  }

  private activate(entry: Entry): void {
    const at = this.now();
    entry.info.last_active = new Date(at).toISOString();
    entry.expiresAt = at + this.ttlMs;
  }

  private drop(entry: Entry): void {
    this.sessions.delete(entry.info.id);
    const ids = this.byAgent.get(entry.info.agent);
    ids?.delete(entry.info.id);
    if (ids?.size === 0) this.byAgent.delete(entry.info.agent);
  }
}

function copyInfo(info: SessionInfo): SessionInfo {
  return { ...info, metadata: { ...info.metadata } };
}

/** Most recently active first; ties broken by id so the order is stable. */
export function sortByActivity(sessions: SessionInfo[]): SessionInfo[] {
  return sessions.sort((a, b) => (a.last_active === b.last_active ? (a.id < b.id ? -1 : 1) : a.last_active < b.last_active ? 1 : -1));
}
