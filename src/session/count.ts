import type { SessionStore } from './types.ts';

/**
 * Live sessions of `agent`: from the store's own count (memory: a per-agent set; Redis: ZCARD of
 * the index) and only for a store that cannot count, by listing them.
 */
export async function countSessions(store: SessionStore, agent: string): Promise<number> {
  return store.count === undefined ? (await store.list(agent)).length : store.count(agent);
}
