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

test('memory: stored messages are frozen copies, to the nested tool calls and results; none is stored when one cannot be copied', async () => {
  const store = new MemorySessionStore();
  try {
    const { id } = await store.create('a');
    const input = { query: { words: ['a', 'b'] } };
    const call = { role: 'assistant' as const, content: '', tool_calls: [{ id: 't1', name: 'search', input }], seq: 99 };
    const result = { role: 'tool' as const, tool_result: { tool_call_id: 't1', content: 'found', is_error: false } };
    assert.equal(await store.appendMessages(id, [{ role: 'user', content: 'q' }, call, result]), 3);
    input.query.words.push('changed');
    call.tool_calls[0]!.name = 'changed';
    result.tool_result.content = 'changed';
    const { messages } = await store.loadMessages(id);
    assert.deepEqual(messages, [
      { role: 'user', content: 'q', seq: 1 },
      { role: 'assistant', content: '', tool_calls: [{ id: 't1', name: 'search', input: { query: { words: ['a', 'b'] } } }], seq: 2 },
      { role: 'tool', tool_result: { tool_call_id: 't1', content: 'found', is_error: false }, seq: 3 },
    ]);
    for (const m of messages) assert.ok(Object.isFrozen(m));
    assert.ok(Object.isFrozen(messages[1]!.tool_calls![0]!.input));
    assert.ok(Object.isFrozen((messages[1]!.tool_calls![0]!.input as typeof input).query.words));
    assert.ok(Object.isFrozen(messages[2]!.tool_result));
    // Loads hand out the stored objects themselves, not copies.
    assert.equal((await store.loadMessages(id, { tail: 1 })).messages[0], messages[2]);
    const uncloneable = { role: 'assistant' as const, tool_calls: [{ id: 't2', name: 's', input: { run: () => 1 } }] };
    await assert.rejects(store.appendMessages(id, [{ role: 'user', content: 'next' }, uncloneable]));
    assert.equal((await store.loadMessages(id)).total, 3);
  } finally {
    await store.close();
  }
});
