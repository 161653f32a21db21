import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemorySessionStore, SessionLimitError, SessionNotFoundError, createSessionStore } from '../../src/session/index.ts';
import { sessionStoreContract } from './contract.ts';
import { requestClaimContract, turnContract } from './turn-contract.ts';

sessionStoreContract('memory', { open: async () => new MemorySessionStore() });
turnContract('memory', { open: async () => new MemorySessionStore() });
requestClaimContract('memory', { open: async () => new MemorySessionStore() });

test('memory: a session expires ttl after its last activity, and leaves the agent listing', async () => {
  let now = Date.parse('2026-01-01T00:00:00Z');
  const store = new MemorySessionStore({ ttlSeconds: 60, now: () => now });
  const kept = await store.create('a');
  const idle = await store.create('a');
  now += 50_000;
  await store.appendMessages(kept.id, [{ role: 'user', content: 'hi' }]);
  now += 20_000; // idle: 70s since creation; kept: 20s since its append
  assert.equal(await store.get(idle.id), null);
  await assert.rejects(store.appendMessages(idle.id, [{ role: 'user', content: 'late' }]), SessionNotFoundError);
  assert.deepEqual((await store.list('a')).map((s) => s.id), [kept.id]);
  assert.equal((await store.loadMessages(kept.id)).total, 1);
  now += 60_000;
  assert.deepEqual(await store.list('a'), []);
  await assert.rejects(store.touch(kept.id), SessionNotFoundError);
});

test('createSessionStore: memory, and redis without a URL is a clear usage error', async () => {
  const mem = await createSessionStore({ kind: 'memory' });
  assert.ok(mem instanceof MemorySessionStore);
  await mem.close();
  const saved = process.env.REDIS_URL;
  delete process.env.REDIS_URL;
  try {
    await assert.rejects(createSessionStore({ kind: 'redis' }), (err: unknown) => err instanceof Error && /REDIS_URL/.test(err.message));
  } finally {
    if (saved !== undefined) process.env.REDIS_URL = saved;
  }
});

test('memory: the timed sweep drops expired sessions nobody asks for again; count stays O(1)', async () => {
  let now = Date.now();
  const store = new MemorySessionStore({ ttlSeconds: 1, now: () => now, sweepIntervalMs: 20 });
  try {
    for (let i = 0; i < 50; i++) await store.create('swept');
    assert.equal(await store.count('swept'), 50);
    now += 1500;
    // Nothing looks the expired ones up: only the timer can drop them.
    const deadline = Date.now() + 5000;
    while ((await store.count('swept')) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(await store.count('swept'), 0);
  } finally {
    await store.close();
  }
});

test('memory: sessions per agent are capped; a full agent refuses create with SessionLimitError', async () => {
  const store = new MemorySessionStore({ maxSessionsPerAgent: 3, sweepIntervalMs: 0 });
  try {
    for (let i = 0; i < 3; i++) await store.create('a');
    await assert.rejects(store.create('a'), (err: unknown) => err instanceof SessionLimitError && err.limit === 3 && err.agent === 'a');
    await store.create('b');
    const [first] = await store.list('a');
    await store.delete(first!.id);
    await store.create('a');
    assert.equal(await store.count('a'), 3);
  } finally {
    await store.close();
  }
});
