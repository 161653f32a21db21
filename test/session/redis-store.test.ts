import { after, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import pino from 'pino';
import { createClient } from 'redis';
import {
  beginTurn,
  createSessionStore,
  RedisSessionStore,
  SessionCorruptError,
  SessionNotFoundError,
  SessionStoreUnavailableError,
  type Message,
} from '../../src/session/index.ts';
import { freePort, redisUrlOrSkip, startPersistentRedisServer, startRedisServer, type RedisServer } from '../helpers/services.ts';
import { sessionStoreContract } from './contract.ts';
import { MessageCount, sumOf } from '../../src/runtime/tokens.ts';
import { requestClaimContract, turnContract } from './turn-contract.ts';

// One prefix per run of this file keeps it apart from every other test using the same server.
const PREFIX = `t-sess-${process.pid}-${randomBytes(4).toString('hex')}`;
const TEST_TTL = 600;

const newRawClient = (url: string) => createClient({ url });
type Raw = ReturnType<typeof newRawClient>;
const rawClients: Raw[] = [];

/** A plain client for looking at and tampering with keys directly. */
async function raw(url: string): Promise<Raw> {
  const c = newRawClient(url);
  // A private server stopped at the end of its test drops this connection; the test is over by then.
  c.on('error', () => undefined);
  await c.connect();
  rawClients.push(c);
  return c;
}

after(async () => {
  const url = process.env.REDIS_URL ?? sharedUrl;
  if (url !== undefined) {
    // Test-only cleanup of this run's keys on the shared server.
    const c = await raw(url);
    let cursor = '0';
    do {
      const [next, keys] = (await c.sendCommand(['SCAN', cursor, 'MATCH', `${PREFIX}*`, 'COUNT', '1000'])) as [string, string[]];
      cursor = next;
      if (keys.length > 0) await c.sendCommand(['DEL', ...keys]);
    } while (cursor !== '0');
  }
  for (const c of rawClients) if (c.isOpen) await c.close();
});

let sharedUrl: string | undefined;
async function sharedStore(t: TestContext, extra: { logger?: pino.Logger } = {}): Promise<RedisSessionStore | undefined> {
  const url = await redisUrlOrSkip(t);
  if (url === undefined) return undefined;
  sharedUrl = url;
  return RedisSessionStore.open({ url, keyPrefix: PREFIX, ttlSeconds: TEST_TTL, ...extra });
}

/** A pino logger whose JSON lines can be read back. */
function capturingLogger(): { logger: pino.Logger; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString('utf8'));
      cb();
    },
  });
  const logger = pino({ level: 'info' }, sink);
  return {
    logger,
    lines: () => chunks.join('').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

const user = (content: string): Message => ({ role: 'user', content });
/** `messages` as loaded: each with its seq, counting from `first`. */
const numbered = (messages: Message[], first = 1): Message[] => messages.map((m, i) => ({ ...m, seq: first + i }));

/** A private redis-server this test may stop; skipped (outside CI) where redis-server is not installed. */
async function privateServer(t: TestContext, start: () => Promise<RedisServer> = startRedisServer): Promise<RedisServer | undefined> {
  try {
    const srv = await start();
    t.after(() => srv.stop());
    return srv;
  } catch (err) {
    if (process.env.CI !== 'true' && err instanceof Error && /not installed/.test(err.message)) {
      t.skip(err.message);
      return undefined;
    }
    throw err;
  }
}

sessionStoreContract('redis', { open: (t) => sharedStore(t) });
turnContract('redis', { open: (t) => sharedStore(t) });
requestClaimContract('redis', { open: (t) => sharedStore(t) });

describe('redis layout', () => {
  test('keys are a hash, a list and an agent index; both session keys carry a TTL after every append', async (t) => {
    const store = await sharedStore(t);
    if (store === undefined) return;
    const r = await raw(sharedUrl!);
    try {
      const agent = `layout-${randomBytes(3).toString('hex')}`;
      const { id } = await store.create(agent, { k: 'v' });
      const meta = `${PREFIX}:session:{${id}}`;
      const list = `${PREFIX}:session:{${id}}:messages`;
      assert.equal(await r.type(meta), 'hash');
      assert.equal(await r.hGet(meta, 'agent'), agent);
      assert.ok((await r.ttl(meta)) > 0);
      assert.notEqual(await r.zScore(`${PREFIX}:agent:{${agent}}:sessions`, id), null);
      for (let i = 0; i < 5; i++) {
        // Drop the TTLs so that each append has to set them again.
        await r.persist(meta);
        await r.persist(list);
        await store.appendMessages(id, [user(`m${i}`), user(`n${i}`)]);
        assert.equal(await r.type(list), 'list');
        const [tMeta, tList] = [await r.ttl(meta), await r.ttl(list)];
        assert.ok(tMeta > 0 && tMeta <= TEST_TTL, `hash TTL after append ${i}: ${tMeta}`);
        assert.ok(tList > 0 && tList <= TEST_TTL, `list TTL after append ${i}: ${tList}`);
      }
      assert.deepEqual(JSON.parse((await r.lIndex(list, 0))!), { seq: 1, ...user('m0') });
      assert.equal(await r.lLen(list), 10);
    } finally {
      await store.close();
    }
  });

  test('an unreadable list element is skipped with a WARN naming the session and index; the rest are returned', async (t) => {
    const cap = capturingLogger();
    const store = await sharedStore(t, { logger: cap.logger });
    if (store === undefined) return;
    const r = await raw(sharedUrl!);
    try {
      const { id } = await store.create('corrupt');
      const list = `${PREFIX}:session:{${id}}:messages`;
      await store.appendMessages(id, [user('a'), user('b')]);
      await r.rPush(list, ['{"role":"user","content":"cut', '{"role":"robot","content":"x"}']);
      await store.appendMessages(id, [user('c')]);
      const page = await store.loadMessages(id);
      assert.equal(page.total, 5);
      assert.deepEqual(page.messages, [...numbered([user('a'), user('b')]), { ...user('c'), seq: 5 }]);
      const warns = cap.lines().filter((l) => l.level === 40 && l.sessionId !== undefined);
      assert.deepEqual(warns.map((w) => [w.sessionId, w.index]), [[id, 2], [id, 3]]);
      assert.match(String(warns[0]!.reason), /not JSON/);
      assert.match(String(warns[1]!.reason), /role/);
      const tail = await store.loadMessages(id, { offset: 3, limit: 2 });
      assert.deepEqual(tail.messages, [{ ...user('c'), seq: 5 }]);
      assert.equal(cap.lines().filter((l) => l.level === 40 && l.sessionId !== undefined).at(-1)!.index, 3, 'the index is the position in the whole history');
    } finally {
      await store.close();
    }
  });

  test('list drops sessions whose hash is gone (expired) from the index', async (t) => {
    const store = await sharedStore(t);
    if (store === undefined) return;
    const r = await raw(sharedUrl!);
    try {
      const agent = `exp-${randomBytes(3).toString('hex')}`;
      const a = await store.create(agent);
      const b = await store.create(agent);
      await r.del(`${PREFIX}:session:{${a.id}}`);
      assert.deepEqual((await store.list(agent)).map((s) => s.id), [b.id]);
      assert.equal(await r.zScore(`${PREFIX}:agent:{${agent}}:sessions`, a.id), null);
      await assert.rejects(store.appendMessages(a.id, [user('x')]), SessionNotFoundError);
      assert.equal(await r.zScore(`${PREFIX}:agent:{${agent}}:sessions`, a.id), null, 'a failed append does not re-add it');
      assert.equal(await r.exists([`${PREFIX}:session:{${a.id}}`, `${PREFIX}:session:{${a.id}}:messages`]), 0, 'nor leaves keys behind');
    } finally {
      await store.close();
    }
  });

  test('an append to a session whose hash expired before its list removes the list, the hash it wrote and the index entry', async (t) => {
    const store = await sharedStore(t);
    if (store === undefined) return;
    const r = await raw(sharedUrl!);
    try {
      const agent = `gone-${randomBytes(3).toString('hex')}`;
      const { id } = await store.create(agent);
      await store.appendMessages(id, [user('kept until expiry')]);
      const meta = `${PREFIX}:session:{${id}}`;
      const list = `${PREFIX}:session:{${id}}:messages`;
      await r.del(meta);
      await assert.rejects(store.appendMessages(id, [user('x'), user('y')]), SessionNotFoundError);
      await assert.rejects(store.appendMessages(id, []), SessionNotFoundError);
      assert.equal(await r.exists(meta), 0);
      assert.equal(await r.exists(list), 0);
      assert.equal(await r.zScore(`${PREFIX}:agent:{${agent}}:sessions`, id), null);
      assert.equal(await store.get(id), null);
      await assert.rejects(store.loadMessages(id), SessionNotFoundError);
    } finally {
      await store.close();
    }
  });

  test('a delete racing appends from several connections: each append is saved or not found, reads never see a half session, nothing is left', async (t) => {
    const first = await sharedStore(t);
    if (first === undefined) return;
    const r = await raw(sharedUrl!);
    const stores = [first, ...(await Promise.all(Array.from({ length: 2 }, () => RedisSessionStore.open({ url: sharedUrl!, keyPrefix: PREFIX, ttlSeconds: TEST_TTL }))))];
    try {
      for (let round = 0; round < 5; round++) {
        const agent = `race-${randomBytes(3).toString('hex')}`;
        const id: string = (await first.create(agent)).id;
        // Every connection learns the agent, so its appends carry the index update too.
        await Promise.all(stores.map((s) => s.loadMessages(id)));
        let deleting = true;
        const reads = (async () => {
          while (deleting) {
            await first.get(id);
            await first.list(agent);
          }
        })();
        const outcomes = await Promise.allSettled(
          Array.from({ length: 30 }, async (_, i) => {
            if (i === 10) await stores[1]!.delete(id);
            return stores[i % stores.length]!.appendMessages(id, [user(`r${round} m${i}`)]);
          }),
        );
        deleting = false;
        await reads;
        for (const o of outcomes) if (o.status === 'rejected') assert.ok(o.reason instanceof SessionNotFoundError, String(o.reason));
        assert.ok(outcomes.some((o) => o.status === 'rejected'), 'appends after the delete fail');
        assert.equal(await r.exists([`${PREFIX}:session:{${id}}`, `${PREFIX}:session:{${id}}:messages`]), 0);
        assert.equal(await r.zScore(`${PREFIX}:agent:{${agent}}:sessions`, id), null);
        assert.equal(await first.get(id), null);
      }
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  test('malformed session ids never reach Redis', async (t) => {
    const store = await sharedStore(t);
    if (store === undefined) return;
    try {
      for (const bad of ['', 'sess_', 'sess_abc', 'x'.repeat(27), 'sess_AAAAAAAAAAAAAAAAAAAAA}']) {
        assert.equal(await store.get(bad), null);
        assert.equal(await store.delete(bad), false);
        await assert.rejects(store.appendMessages(bad, [user('x')]), SessionNotFoundError);
        await assert.rejects(store.loadMessages(bad), SessionNotFoundError);
        await assert.rejects(store.touch(bad), SessionNotFoundError);
      }
    } finally {
      await store.close();
    }
  });

  test('createSessionStore connects to redis, and fails with SessionStoreUnavailableError where nothing listens', async (t) => {
    const url = await redisUrlOrSkip(t);
    if (url === undefined) return;
    const store = await createSessionStore({ kind: 'redis', url, ttlSeconds: TEST_TTL });
    try {
      assert.ok(store instanceof RedisSessionStore);
      assert.equal(await store.get('sess_AAAAAAAAAAAAAAAAAAAAAA'), null);
    } finally {
      await store.close();
    }
    const port = await freePort();
    await assert.rejects(
      createSessionStore({ kind: 'redis', url: `redis://127.0.0.1:${port}` }),
      (err: unknown) => err instanceof SessionStoreUnavailableError && err.code === 'E_SESSION_STORE_UNAVAILABLE',
    );
  });
});

describe('the tail a turn holds', () => {
  /** One turn as the runtime runs it: the lease with the tail, then the append under the fence. */
  async function turn(store: RedisSessionStore, id: string, text: string, tail = 6): Promise<Message[]> {
    const start = await beginTurn(store, id, { mode: 'enqueue', leaseTtlMs: 30_000, waitMs: 5000, range: { tail } });
    assert.equal(start.kind, 'turn');
    if (start.kind !== 'turn') return [];
    try {
      await store.appendMessages(id, [user(text), { role: 'assistant', content: `re ${text}` }], start.lease.appendOptions());
    } finally {
      start.lease.finished();
    }
    return start.page.messages;
  }

  test('appends by another process between turns reach the next turn, in order, and the window slides', async (t) => {
    const a = await sharedStore(t);
    if (a === undefined) return;
    const b = await sharedStore(t);
    const fresh = await sharedStore(t);
    try {
      const { id } = await a.create('held');
      for (let i = 0; i < 4; i++) await turn(a, id, `a${i}`);
      await b!.appendMessages(id, [user('from b')]);
      await turn(b!, id, 'b0');
      const seen = await turn(a, id, 'a4');
      const expected = (await a.loadMessages(id, { offset: 5, limit: 6 })).messages;
      assert.deepEqual(seen, expected);
      assert.deepEqual(
        seen.map((m) => m.content),
        ['re a2', 'a3', 're a3', 'from b', 'b0', 're b0'],
      );
      // The next turn holds all of this: it is given the same window a fresh store reads.
      const next = await turn(a, id, 'a5');
      const again = await beginTurn(fresh!, id, { mode: 'enqueue', leaseTtlMs: 30_000, waitMs: 5000, range: { tail: 6 } });
      assert.equal(again.kind, 'turn');
      if (again.kind === 'turn') {
        await again.lease.release();
        assert.deepEqual(again.page.messages.slice(0, 4), next.slice(2));
        assert.deepEqual(again.page.messages.map((m) => m.seq), [10, 11, 12, 13, 14, 15]);
      }
      assert.ok(Object.isFrozen(next[0]), 'held messages are shared between turns, so they are frozen');
    } finally {
      await a.close();
      await b?.close();
      await fresh?.close();
    }
  });

  test('turn after turn, with appends from another process between, each window is the list tail and its counts read each message about once', async (t) => {
    const a = await sharedStore(t);
    if (a === undefined) return;
    const b = await sharedStore(t);
    try {
      const { id } = await a.create('held');
      const read: string[] = [];
      const counting = new MessageCount((m) => {
        read.push(m.content ?? '');
        return (m.content ?? '').length;
      });
      let reads = 0;
      for (let i = 0; i < 40; i++) {
        if (i % 9 === 4) await b!.appendMessages(id, [user(`from b ${i}`)]);
        const seen = await turn(a, id, `a${i}`);
        // The window this turn read: the six messages before the two it stored.
        const expected = (await a.loadMessages(id, { offset: 0, limit: 1000 })).messages.slice(0, -2).slice(-6);
        assert.deepEqual(seen, expected, `turn ${i}`);
        read.length = 0;
        assert.equal(
          sumOf(seen, counting),
          seen.reduce((n, m) => n + (m.content ?? '').length, 0),
          `turn ${i}`,
        );
        reads += read.length;
      }
      // 40 turns of 2 messages plus 5 from b: a count that read each window whole would be near 240.
      assert.ok(reads < 140, `the counts read ${reads} messages`);
    } finally {
      await a.close();
      await b?.close();
    }
  });

  test('a held window is not used for a session whose hash says it is another one; unreadable elements warn at every turn', async (t) => {
    const cap = capturingLogger();
    const store = await sharedStore(t, { logger: cap.logger });
    if (store === undefined) return;
    const r = await raw(sharedUrl!);
    try {
      const { id } = await store.create('held');
      await turn(store, id, 'one');
      const list = `${PREFIX}:session:{${id}}:messages`;
      await r.rPush(list, '{"role":"user","content":"cut');
      await turn(store, id, 'two');
      await turn(store, id, 'three');
      const warns = cap.lines().filter((l) => l.level === 40 && l.sessionId === id);
      assert.deepEqual(warns.map((w) => w.index), [2, 2], 'the unreadable element is skipped, with a WARN, by each turn that reads it');
      // Replaced under the same id (as a restore from a backup could): the held elements are not trusted.
      await r.hSet(`${PREFIX}:session:{${id}}`, 'created_at', '2001-01-01T00:00:00.000Z');
      await r.lSet(list, 0, JSON.stringify({ seq: 1, role: 'user', content: 'restored' }));
      const seen = await turn(store, id, 'four', 50);
      assert.equal(seen[0]!.content, 'restored');
      assert.equal(seen.length, 6);
    } finally {
      await store.close();
    }
  });
});

describe('migration of a string-valued history', { timeout: 60_000 }, () => {
  const old: Message[] = [
    { role: 'system', content: 'be brief' },
    { role: 'user', content: 'tricky "quotes", [brackets] {braces} \\ and , commas' },
    { role: 'assistant', content: '', tool_calls: [] },
    { role: 'assistant', tool_calls: [{ id: 'c1', name: 'calc', input: { a: 1.0000000000000002, b: [], c: {}, d: [[1], [2, [3]]] } }] },
    { role: 'tool', tool_result: { tool_call_id: 'c1', content: '{"json":"in a string"}', is_error: false } },
    ...Array.from({ length: 15 }, (_, i) => ({ role: 'user' as const, content: `old ${i} ✓` })),
  ];
  // Spacing like a pretty-printer would leave it, to be sure elements are cut out exactly.
  const oldValue = JSON.stringify(old, null, 1);

  async function seedOldSession(store: RedisSessionStore, r: Raw): Promise<string> {
    const { id } = await store.create('migrating');
    await r.set(`${PREFIX}:session:{${id}}:messages`, oldValue);
    return id;
  }

  test('50 concurrent appends racing the first access: all old messages first, then every new one exactly once', async (t) => {
    const first = await sharedStore(t);
    if (first === undefined) return;
    const r = await raw(sharedUrl!);
    // Several connections, so the appends truly race inside Redis rather than queue on one socket.
    const stores = [first, ...(await Promise.all(Array.from({ length: 4 }, () => RedisSessionStore.open({ url: sharedUrl!, keyPrefix: PREFIX, ttlSeconds: TEST_TTL }))))];
    try {
      const id = await seedOldSession(first, r);
      const loads: Promise<unknown>[] = [];
      await Promise.all(
        Array.from({ length: 50 }, async (_, i) => {
          const s = stores[i % stores.length]!;
          if (i % 10 === 0) loads.push(s.loadMessages(id));
          await s.appendMessages(id, [user(`new ${i}`)]);
        }),
      );
      await Promise.all(loads);
      assert.equal(await r.type(`${PREFIX}:session:{${id}}:messages`), 'list');
      const page = await first.loadMessages(id);
      assert.equal(page.total, old.length + 50);
      assert.deepEqual(page.messages.slice(0, old.length), numbered(old));
      const fresh = page.messages.slice(old.length).map((m) => m.content);
      assert.deepEqual([...fresh].sort(), Array.from({ length: 50 }, (_, i) => `new ${i}`).sort());
      assert.ok((await r.ttl(`${PREFIX}:session:{${id}}:messages`)) > 0);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  test('a load alone migrates too, pages work on the result, and an empty old history becomes empty', async (t) => {
    const store = await sharedStore(t);
    if (store === undefined) return;
    const r = await raw(sharedUrl!);
    try {
      const id = await seedOldSession(store, r);
      const page = await store.loadMessages(id, { offset: 1, limit: 3 });
      assert.deepEqual(page, { messages: numbered(old.slice(1, 4), 2), total: old.length });
      assert.equal(await r.type(`${PREFIX}:session:{${id}}:messages`), 'list');
      const empty = await store.create('migrating');
      await r.set(`${PREFIX}:session:{${empty.id}}:messages`, ' [ ] ');
      assert.deepEqual(await store.loadMessages(empty.id), { messages: [], total: 0 });
      assert.equal(await store.appendMessages(empty.id, [user('first')]), 1);
    } finally {
      await store.close();
    }
  });

  test('any JSON array of messages, however formatted, migrates element for element', async (t) => {
    const store = await sharedStore(t);
    if (store === undefined) return;
    const r = await raw(sharedUrl!);
    const text = fc.string({ unit: 'binary', maxLength: 30 });
    const message: fc.Arbitrary<Message> = fc.oneof(
      fc.record({ role: fc.constantFrom('user', 'assistant', 'system') as fc.Arbitrary<Message['role']>, content: text }),
      fc.record({
        role: fc.constant('assistant' as const),
        tool_calls: fc.array(fc.record({ id: text, name: text, input: fc.jsonValue({ maxDepth: 3 }) }), { maxLength: 3 }),
      }),
      fc.record({ role: fc.constant('tool' as const), tool_result: fc.record({ tool_call_id: text, content: text, is_error: fc.boolean() }) }),
    );
    const runs = process.env.CI === 'true' ? 200 : 40;
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(message, { maxLength: 12 }), fc.constantFrom(undefined, 1, 2, '\t'), async (history, indent) => {
          const { id } = await store.create('prop');
          await r.set(`${PREFIX}:session:{${id}}:messages`, JSON.stringify(history, null, indent));
          const page = await store.loadMessages(id);
          await store.delete(id);
          // Compare through JSON: -0 and 0 print alike, and that text is what was stored.
          assert.deepEqual(JSON.parse(JSON.stringify(page.messages)), JSON.parse(JSON.stringify(numbered(history))));
          assert.equal(page.total, history.length);
        }),
        { numRuns: runs },
      );
    } finally {
      await store.close();
    }
  });

  test('a string value that is not a JSON array is reported as corrupt and left untouched', async (t) => {
    const store = await sharedStore(t);
    if (store === undefined) return;
    const r = await raw(sharedUrl!);
    try {
      const { id } = await store.create('migrating');
      const key = `${PREFIX}:session:{${id}}:messages`;
      for (const bad of ['{"role":"user"}', '[{"role":"user"', 'hello']) {
        await r.set(key, bad);
        const corrupt = (err: unknown): boolean => err instanceof SessionCorruptError && err.sessionId === id;
        await assert.rejects(store.loadMessages(id), corrupt);
        await assert.rejects(store.appendMessages(id, [user('x')]), corrupt);
        assert.equal(await r.get(key), bad);
      }
    } finally {
      await store.close();
    }
  });
});

describe('private redis server', { timeout: 120_000 }, () => {
  test('append issues the same Redis commands at history 10 and at history 10,000; list never uses KEYS or SCAN', async (t) => {
    const srv = await privateServer(t);
    if (srv === undefined) return;
    const store = await RedisSessionStore.open({ url: srv.url, keyPrefix: 'cost' });
    const r = await raw(srv.url);
    try {
      const { id } = await store.create('cost');
      await store.appendMessages(id, Array.from({ length: 10 }, (_, i) => user(`m${i}`)));

      const commandCounts = async (): Promise<Record<string, number>> => {
        await r.sendCommand(['CONFIG', 'RESETSTAT']);
        for (let i = 0; i < 25; i++) await store.appendMessages(id, [user(`probe ${i}`), user(`probe ${i}b`)]);
        const info = await r.info('commandstats');
        const counts: Record<string, number> = {};
        for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
          if (!/^(config|info)\b/.test(m[1]!)) counts[m[1]!] = Number(m[2]);
        }
        return counts;
      };

      const atSmall = await commandCounts();
      const list = `cost:session:{${id}}:messages`;
      const filler = JSON.stringify(user('filler'));
      while ((await r.lLen(list)) < 10_000) await r.rPush(list, Array.from({ length: 1000 }, () => filler));
      const atLarge = await commandCounts();

      assert.ok((atSmall.rpush ?? 0) >= 25, JSON.stringify(atSmall));
      assert.deepEqual(atLarge, atSmall);
      // One script per append; these are the commands it runs (the hash has a seq, so no TYPE probe of the list).
      assert.deepEqual(Object.keys(atSmall).sort(), ['evalsha', 'expire', 'hmget', 'hset', 'llen', 'rpush', 'zadd']);

      await r.sendCommand(['CONFIG', 'RESETSTAT']);
      for (let i = 0; i < 20; i++) await store.create('many');
      assert.equal((await store.list('many')).length, 20);
      const info = await r.info('commandstats');
      assert.doesNotMatch(info, /cmdstat_(keys|scan):/);
    } finally {
      await store.close();
    }
  });

  test('a session message is two scripts: these commands, the same at every turn, and held messages are not sent again', async (t) => {
    const srv = await privateServer(t);
    if (srv === undefined) return;
    const store = await RedisSessionStore.open({ url: srv.url, keyPrefix: 'turn' });
    const r = await raw(srv.url);
    try {
      const { id } = await store.create('turn');
      const oneTurn = async (i: number): Promise<void> => {
        const start = await beginTurn(store, id, { mode: 'enqueue', leaseTtlMs: 30_000, waitMs: 5000, range: { tail: 100 } });
        if (start.kind !== 'turn') throw new Error('no turn');
        await store.appendMessages(id, [user(`q${i}`), user(`a${i}`)], start.lease.appendOptions());
        start.lease.finished();
      };
      for (let i = 0; i < 3; i++) await oneTurn(i);
      await r.sendCommand(['CONFIG', 'RESETSTAT']);
      for (let i = 3; i < 13; i++) await oneTurn(i);
      const counts: Record<string, number> = {};
      for (const m of (await r.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
        if (!/^(config|info)\b/.test(m[1]!)) counts[m[1]!] = Number(m[2]);
      }
      // Per turn: the lease with the window (HGETALL, GET, EXISTS of the queue, LLEN, SET, HINCRBY),
      // then the append that releases it (HMGET, LLEN, RPUSH, HSET, EXPIRE x3, DEL, ZADD).
      assert.deepEqual(counts, { evalsha: 20, hgetall: 10, get: 10, exists: 10, llen: 20, set: 10, hincrby: 10, hmget: 10, rpush: 10, hset: 10, expire: 30, del: 10, zadd: 10 });
      const start = await beginTurn(store, id, { mode: 'enqueue', leaseTtlMs: 30_000, waitMs: 5000, range: { tail: 100 } });
      if (start.kind === 'turn') {
        await start.lease.release();
        assert.deepEqual(start.page.messages.map((m) => m.content), Array.from({ length: 13 }, (_, i) => [`q${i}`, `a${i}`]).flat());
      }
    } finally {
      await store.close();
    }
  });

  test('an old string history: an append converts it inside its own script; a load fails with WRONGTYPE once, converts, retries; then one call each', async (t) => {
    const srv = await privateServer(t);
    if (srv === undefined) return;
    const store = await RedisSessionStore.open({ url: srv.url, keyPrefix: 'retry' });
    const r = await raw(srv.url);
    const stats = async (): Promise<{ calls: Record<string, number>; failed: Record<string, number>; errors: Record<string, number> }> => {
      const calls: Record<string, number> = {};
      const failed: Record<string, number> = {};
      for (const m of (await r.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+),.*failed_calls=(\d+)/gm)) {
        if (/^(config|info)\b/.test(m[1]!)) continue;
        calls[m[1]!] = Number(m[2]);
        if (m[3] !== '0') failed[m[1]!] = Number(m[3]);
      }
      const errors: Record<string, number> = {};
      for (const m of (await r.info('errorstats')).matchAll(/^errorstat_([^:]+):count=(\d+)/gm)) errors[m[1]!] = Number(m[2]);
      await r.sendCommand(['CONFIG', 'RESETSTAT']);
      return { calls, failed, errors };
    };
    try {
      for (const op of ['append', 'load'] as const) {
        const { id } = await store.create('retry');
        await r.set(`retry:session:{${id}}:messages`, JSON.stringify([user('old 1'), user('old 2')]));
        await stats();
        if (op === 'append') {
          assert.equal(await store.appendMessages(id, [user('new')]), 3);
          const converted = await stats();
          assert.equal(converted.calls.multi, undefined, JSON.stringify(converted));
          assert.equal(converted.errors.WRONGTYPE, undefined, JSON.stringify(converted.errors));
          assert.equal(await r.type(`retry:session:{${id}}:messages`), 'list');
          await store.appendMessages(id, [user('again')]);
          assert.deepEqual((await store.loadMessages(id)).messages.map((m) => [m.seq, m.content]), [[1, 'old 1'], [2, 'old 2'], [3, 'new'], [4, 'again']]);
          continue;
        }
        assert.equal((await store.loadMessages(id)).total, 2);
        const first = await stats();
        assert.equal(first.calls.multi, 2, `${op}: ${JSON.stringify(first)}`);
        assert.equal(first.calls.exec, 2);
        // The conversion script asks for the key's type exactly once.
        assert.equal(first.calls.type, 1);
        assert.equal(first.errors.WRONGTYPE, 2, JSON.stringify(first.errors));
        // EVALSHA of a script the server has not seen yet fails with NOSCRIPT and is sent again in full.
        const failedCommands = Object.keys(first.failed).filter((c) => c !== 'evalsha').sort();
        assert.deepEqual(failedCommands, ['llen', 'lrange']);

        await store.loadMessages(id);
        const next = await stats();
        assert.equal(next.calls.multi, 1, JSON.stringify(next));
        assert.equal(next.calls.type, undefined);
        assert.deepEqual(next.failed, {});
        assert.equal(await r.type(`retry:session:{${id}}:messages`), 'list');
        assert.deepEqual((await store.loadMessages(id)).messages.map((m) => m.content), ['old 1', 'old 2']);
      }
    } finally {
      await store.close();
    }
  });

  test('an unresponsive Redis: calls time out as unavailable, and the connection stays in step afterwards', async (t) => {
    const srv = await privateServer(t);
    if (srv === undefined) return;
    const store = await RedisSessionStore.open({ url: srv.url, keyPrefix: 'pause', commandTimeoutMs: 300 });
    const r = await raw(srv.url);
    try {
      const a = await store.create('pause');
      const b = await store.create('pause');
      await store.appendMessages(a.id, [user('for a')]);
      await store.appendMessages(b.id, [user('for b'), user('for b too')]);
      await r.sendCommand(['CLIENT', 'PAUSE', '1500', 'ALL']);
      await assert.rejects(store.loadMessages(a.id), SessionStoreUnavailableError);
      await assert.rejects(store.get(b.id), SessionStoreUnavailableError);
      // Once the server answers again, each reply must reach the call that asked for it.
      let answered = false;
      for (let i = 0; i < 100 && !answered; i++) {
        try {
          assert.deepEqual(await store.loadMessages(b.id), { messages: numbered([user('for b'), user('for b too')]), total: 2 });
          answered = true;
        } catch (err) {
          if (!(err instanceof SessionStoreUnavailableError)) throw err;
        }
      }
      assert.ok(answered);
      assert.deepEqual(await store.loadMessages(a.id), { messages: numbered([user('for a')]), total: 1 });
      assert.equal((await store.get(b.id))?.id, b.id);
    } finally {
      await store.close();
    }
  });

  /**
   * Appends while the server is stopped (SIGSTOP: it reads nothing), each failing at its deadline;
   * then the server goes on. Returns how many of them were stored once it answered again, after
   * checking that nothing more lands later. With 64 KiB messages (the default) the socket's
   * buffers fill with the first few, and the client keeps the rest queued, unwritten, until the
   * socket drains.
   */
  async function appendsWhileStopped(srv: RedisServer, store: RedisSessionStore, id: string, appends: number, messageBytes = 64 * 1024): Promise<number> {
    const pid = srv.pid()!;
    process.kill(pid, 'SIGSTOP');
    try {
      const text = 'x'.repeat(messageBytes);
      const outcomes = await Promise.allSettled(Array.from({ length: appends }, (_, i) => store.appendMessages(id, [user(`${i} ${text}`)])));
      for (const o of outcomes) {
        assert.equal(o.status, 'rejected');
        assert.ok(o.reason instanceof SessionStoreUnavailableError, String(o.reason));
      }
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    let total: number | undefined;
    for (let i = 0; i < 100 && total === undefined; i++) {
      try {
        total = (await store.loadMessages(id, { limit: 0 })).total;
      } catch (err) {
        if (!(err instanceof SessionStoreUnavailableError)) throw err;
      }
    }
    assert.ok(total !== undefined, 'the server answers again');
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal((await store.loadMessages(id, { limit: 0 })).total, total, 'nothing lands after the first read that answered');
    return total;
  }

  /**
   * On a private server: `appends` appends of `messageBytes` messages while it is stopped. Some
   * were written in time and are stored; those never written in time are dropped; and every
   * command was settled and uncounted at the end (a count left over would put a deadline signal on
   * every command from then on).
   */
  async function unwrittenAreDropped(t: TestContext, keyPrefix: string, appends: number, messageBytes?: number): Promise<void> {
    const srv = await privateServer(t);
    if (srv === undefined) return;
    const store = await RedisSessionStore.open({ url: srv.url, keyPrefix, commandTimeoutMs: 400 });
    try {
      const s = await store.create('unwritten');
      // The append script is loaded first, so that what was written runs as it is sent.
      await store.appendMessages(s.id, [user('before')]);
      const stored = await appendsWhileStopped(srv, store, s.id, appends, messageBytes);
      assert.ok(stored > 1, `${stored - 1} appends written before the deadline ran once the server went on`);
      assert.ok(stored < 1 + appends, `${stored - 1} of ${appends} appends were stored: those never written in time must be dropped`);
      assert.equal(store['unwritten'].pending, 0);
    } finally {
      await store.close();
    }
  }

  test('a command still unwritten at its deadline is dropped, never sent once Redis reads again', (t) => unwrittenAreDropped(t, 'unwritten', 200));

  // About 600 bytes each: the first ones go without a signal, the rest must carry one, or those
  // left unwritten behind the full buffers would land once the server reads again.
  test('small commands, each below the socket buffer, are dropped at their deadline as well once the buffers are full', (t) => unwrittenAreDropped(t, 'unwritten-small', 20_000, 300));

  test('a script Redis has forgotten is not sent again once its call has failed', async (t) => {
    const srv = await privateServer(t);
    if (srv === undefined) return;
    const store = await RedisSessionStore.open({ url: srv.url, keyPrefix: 'forgotten', commandTimeoutMs: 400 });
    try {
      const s = await store.create('forgotten');
      // The append script is not loaded: each append that was written is answered NOSCRIPT after
      // its deadline, when sending the script in full would store a message its caller was told
      // was not stored.
      assert.equal(await appendsWhileStopped(srv, store, s.id, 20), 0);
      // A call still in time sends the script in full.
      await store.appendMessages(s.id, [user('after')]);
      assert.deepEqual((await store.loadMessages(s.id)).messages.map((m) => m.content), ['after']);
    } finally {
      await store.close();
    }
  });

  test('Redis down: calls fail fast as unavailable; back up: earlier messages intact and appends work', async (t) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'agentspec-redis-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const srv = await privateServer(t, () => startPersistentRedisServer(dir));
    if (srv === undefined) return;
    const cap = capturingLogger();
    const store = await RedisSessionStore.open({ url: srv.url, keyPrefix: 'outage', commandTimeoutMs: 1000, logger: cap.logger });
    try {
      const { id } = await store.create('outage');
      await store.appendMessages(id, [user('before 1'), user('before 2')]);

      await srv.stop();
      const unavailable = (err: unknown): boolean => err instanceof SessionStoreUnavailableError && err.code === 'E_SESSION_STORE_UNAVAILABLE';
      // Repeatedly, so the calls land both while the client notices the drop and while it reconnects.
      for (let i = 0; i < 5; i++) {
        await assert.rejects(store.appendMessages(id, [user(`lost ${i}`)]), unavailable);
        await assert.rejects(store.loadMessages(id), unavailable);
        await assert.rejects(store.get(id), unavailable);
        await new Promise((res) => setTimeout(res, 50));
      }

      await srv.start();
      let back = false;
      for (let i = 0; i < 200 && !back; i++) {
        try {
          await store.get(id);
          back = true;
        } catch (err) {
          if (!unavailable(err)) throw err;
          await new Promise((res) => setTimeout(res, 50));
        }
      }
      assert.ok(back, 'the store reconnects once Redis is back');
      assert.deepEqual((await store.loadMessages(id)).messages, numbered([user('before 1'), user('before 2')]));
      assert.equal(await store.appendMessages(id, [user('after')]), 3);
      assert.deepEqual((await store.loadMessages(id)).messages.map((m) => m.content), ['before 1', 'before 2', 'after']);
      const msgs = cap.lines().map((l) => String(l.msg));
      assert.ok(msgs.some((m) => m.includes('unreachable')), 'the outage is logged');
      assert.ok(msgs.some((m) => m.includes('reachable again')), 'the recovery is logged');
    } finally {
      await store.close();
    }
  });
});

describe('redis: counting and listing under damage', () => {
  test('count reads only the agent index (ZCARD after trimming expired entries)', async (t) => {
    const store = await sharedStore(t);
    if (store === undefined) return;
    try {
      const agent = `count-${randomBytes(4).toString('hex')}`;
      const ids = await Promise.all([1, 2, 3].map(() => store.create(agent).then((s) => s.id)));
      assert.equal(await store.count(agent), 3);
      const c = await raw(sharedUrl!);
      // An entry whose expiry passed is not counted, even before anything else trimmed it.
      await c.sendCommand(['ZADD', store.indexKey(agent), String(Date.now() - 1000), ids[0]!]);
      // The hashes are not read: a session whose hash vanished still counts until its index entry expires.
      await c.sendCommand(['DEL', store.metaKey(ids[1]!)]);
      assert.equal(await store.count(agent), 2);
      assert.equal(await store.count(`${agent}-none`), 0);
    } finally {
      await store.close();
    }
  });

  test('list skips a session it cannot read, with a WARN, instead of failing for all', async (t) => {
    const cap = capturingLogger();
    const store = await sharedStore(t, { logger: cap.logger });
    if (store === undefined) return;
    try {
      const agent = `corrupt-${randomBytes(4).toString('hex')}`;
      const good = await store.create(agent, { k: 'v' });
      const wrongType = await store.create(agent);
      const badMeta = await store.create(agent);
      const c = await raw(sharedUrl!);
      await c.sendCommand(['DEL', store.metaKey(wrongType.id)]);
      await c.sendCommand(['SET', store.metaKey(wrongType.id), 'not a hash']);
      await c.sendCommand(['HSET', store.metaKey(badMeta.id), 'metadata', '{not json']);
      const listed = await store.list(agent);
      assert.deepEqual(listed.map((s) => s.id), [good.id]);
      const warned = cap.lines().filter((l) => l.msg === 'skipping an unreadable session in the agent listing').map((l) => l.sessionId);
      assert.deepEqual(warned.sort(), [wrongType.id, badMeta.id].sort());
    } finally {
      await store.close();
    }
  });

  test('a session keeps the owner it was created with', async (t) => {
    const store = await sharedStore(t);
    if (store === undefined) return;
    try {
      const agent = `owner-${randomBytes(4).toString('hex')}`;
      const owned = await store.create(agent, {}, { owner: '0123456789abcdef' });
      assert.equal(owned.owner, '0123456789abcdef');
      assert.equal((await store.get(owned.id))?.owner, '0123456789abcdef');
      assert.equal((await store.get((await store.create(agent)).id))?.owner, undefined);
    } finally {
      await store.close();
    }
  });
});
