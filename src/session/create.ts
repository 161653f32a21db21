import { UsageError } from '../errors.ts';
import type { SessionDurability } from './durability.ts';
import type { SessionStore } from './types.ts';
import { MemorySessionStore } from './memory-store.ts';
import { RedisSessionStore } from './redis-store.ts';

export interface CreateSessionStoreOptions {
  kind: 'memory' | 'redis';
  /** Redis only; defaults to REDIS_URL. */
  url?: string;
  ttlSeconds?: number;
  /** Redis only; defaults to 'agentspec'. */
  keyPrefix?: string;
  /** Redis only; defaults to 'ack' (docs/sessions.md "Durability"). */
  durability?: SessionDurability;
}

/** The store the runtime is configured for. Redis: connects first, SessionStoreUnavailableError when it cannot. */
export async function createSessionStore(opts: CreateSessionStoreOptions): Promise<SessionStore> {
  if (opts.kind === 'memory') return new MemorySessionStore({ ttlSeconds: opts.ttlSeconds });
  if (opts.kind !== 'redis') throw new UsageError(`unknown session store kind ${String(opts.kind)}: use memory or redis`);
  const url = opts.url ?? process.env.REDIS_URL;
  if (url === undefined || url === '') {
    throw new UsageError('the redis session store needs a URL: set REDIS_URL (e.g. redis://127.0.0.1:6379) or pass one');
  }
  return RedisSessionStore.open({ url, ttlSeconds: opts.ttlSeconds, keyPrefix: opts.keyPrefix, durability: opts.durability });
}
