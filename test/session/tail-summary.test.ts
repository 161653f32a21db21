import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';
import { InvalidMessageRangeError, MemorySessionStore, RedisSessionStore, type Message, type SessionStore } from '../../src/session/index.ts';
import { privateRedisOrSkip } from '../helpers/services.ts';

const msg = (i: number): Message => ({ role: i % 2 === 0 ? 'user' : 'assistant', content: `m${i}` });
const many = (from: number, n: number): Message[] => Array.from({ length: n }, (_, i) => msg(from + i));

async function exerciseTail(store: SessionStore): Promise<string> {
  const { id } = await store.create('a');
  await store.appendMessages(id, many(0, 50));
  const page = await store.loadMessages(id, { tail: 10 });
  assert.equal(page.total, 50);
  assert.deepEqual(page.messages.map((m) => m.content), many(40, 10).map((m) => m.content));
  assert.equal(page.summary, undefined);
  const all = await store.loadMessages(id, { tail: 500 });
  assert.equal(all.messages.length, 50);
  const none = await store.loadMessages(id, { tail: 0 });
  assert.deepEqual(none, { messages: [], total: 50 });
  await assert.rejects(store.loadMessages(id, { tail: 2, offset: 1 }), InvalidMessageRangeError);
  await assert.rejects(store.loadMessages(id, { tail: -1 }), InvalidMessageRangeError);
  return id;
}

async function exerciseSummary(store: SessionStore): Promise<string> {
  const { id } = await store.create('a');
  await store.appendMessages(id, many(0, 4), { summary: { text: 'first', covers: 2 } });
  let page = await store.loadMessages(id, { tail: 2 });
  assert.deepEqual(page.summary, { text: 'first', covers: 2 });
  // An append without a summary keeps the stored one; one with a summary replaces it.
  await store.appendMessages(id, many(4, 2));
  assert.deepEqual((await store.loadMessages(id, { tail: 2 })).summary, { text: 'first', covers: 2 });
  await store.appendMessages(id, many(6, 2), { summary: { text: 'second', covers: 6 } });
  page = await store.loadMessages(id, { tail: 2 });
  assert.deepEqual(page.summary, { text: 'second', covers: 6 });
  assert.equal(page.total, 8);
  // The history stays whole: a page by offset still reads every message, and carries no summary.
  const whole = await store.loadMessages(id);
  assert.equal(whole.messages.length, 8);
  assert.equal(whole.summary, undefined);
  return id;
}

test('memory store: tail reads the last N messages and the total', async () => {
  const store = new MemorySessionStore({ sweepIntervalMs: 0 });
  await exerciseTail(store);
  await store.close();
});

test('memory store: the summary is stored with the append that carries it', async () => {
  const store = new MemorySessionStore({ sweepIntervalMs: 0 });
  await exerciseSummary(store);
  await store.close();
});

test('memory store: a malformed summary is refused and nothing of that append is stored', async () => {
  const store = new MemorySessionStore({ sweepIntervalMs: 0 });
  const { id } = await store.create('a');
  await assert.rejects(store.appendMessages(id, many(0, 2), { summary: { text: 'x', covers: -1 } }), /summary: covers/);
  assert.equal((await store.loadMessages(id)).total, 0);
  await store.close();
});

/** A store on a private server, so that MONITOR sees only this test's commands. */
async function redisStore(t: import('node:test').TestContext): Promise<{ store: RedisSessionStore; url: string } | undefined> {
  const srv = await privateRedisOrSkip(t);
  if (srv === undefined) return undefined;
  const store = await RedisSessionStore.open({ url: srv.url, keyPrefix: 'tail', ttlSeconds: 300 });
  t.after(async () => {
    await store.close();
    await srv.stop();
  });
  return { store, url: srv.url };
}

/** Every command the server received while `fn` ran, as MONITOR prints them; ends at a sentinel, not a timer. */
async function monitored(url: string, fn: () => Promise<unknown>): Promise<string[]> {
  const monitor = createClient({ url });
  await monitor.connect();
  const seen: string[] = [];
  const sentinel = `end-${randomBytes(6).toString('hex')}`;
  let reached: () => void = () => {};
  const done = new Promise<void>((resolve) => (reached = resolve));
  await monitor.monitor((line: string) => {
    seen.push(line);
    if (line.includes(sentinel)) reached();
  });
  const other = createClient({ url });
  await other.connect();
  try {
    await fn();
    await other.sendCommand(['ECHO', sentinel]);
    await done;
  } finally {
    await other.close();
    await monitor.close();
  }
  return seen;
}

test('redis store: tail is one LRANGE of the tail (plus LLEN) and returns the last N', async (t) => {
  const r = await redisStore(t);
  if (r === undefined) return;
  const id = await exerciseTail(r.store);
  // MONITOR shows exactly what a tail load sends.
  const seen = await monitored(r.url, () => r.store.loadMessages(id, { tail: 10 }));
  const lrange = seen.filter((l) => /"LRANGE"/i.test(l) && l.includes(id));
  assert.equal(lrange.length, 1, seen.join('\n'));
  assert.match(lrange[0]!, /"-10" "-1"/);
  assert.ok(seen.some((l) => /"LLEN"/i.test(l) && l.includes(id)));
  assert.ok(seen.some((l) => /"HGET"/i.test(l) && l.includes('"summary"')));
});

test('redis store: the summary is written in the same atomic step (the append script) as the messages', async (t) => {
  const r = await redisStore(t);
  if (r === undefined) return;
  const id = await exerciseSummary(r.store);
  const c = createClient({ url: r.url });
  await c.connect();
  assert.deepEqual(JSON.parse(String(await c.hGet(r.store.metaKey(id), 'summary'))), { text: 'second', covers: 6 });
  const seen = await monitored(r.url, () => r.store.appendMessages(id, many(8, 2), { summary: { text: 'third', covers: 8 } }));
  // One script call: the RPUSH and the summary's HSET are both commands run inside it (MONITOR
  // tags them [lua]), so no other client sees one without the other.
  const mine = seen.filter((l) => l.includes(id));
  const script = mine.findIndex((l) => /"EVALSHA"|"EVAL"/.test(l));
  const rpush = mine.findIndex((l) => l.includes('"RPUSH"'));
  const hset = mine.findIndex((l) => l.includes('"HSET"') && l.includes('"summary"'));
  assert.equal(mine.filter((l) => /"EVALSHA"|"EVAL"|"MULTI"/.test(l)).length, 1, mine.join('\n'));
  assert.ok(script >= 0 && script < rpush && script < hset, mine.join('\n'));
  assert.ok([rpush, hset].every((i) => mine[i]!.includes('[0 lua]')), mine.join('\n'));
  await c.close();
});

test('redis store: an unreadable stored summary is ignored with a warning, the messages still load', async (t) => {
  const r = await redisStore(t);
  if (r === undefined) return;
  const { id } = await r.store.create('a');
  await r.store.appendMessages(id, many(0, 3));
  const c = createClient({ url: r.url });
  await c.connect();
  await c.hSet(r.store.metaKey(id), 'summary', '{not json');
  const page = await r.store.loadMessages(id, { tail: 2 });
  assert.equal(page.messages.length, 2);
  assert.equal(page.summary, undefined);
  await c.close();
});
