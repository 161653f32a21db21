import { after, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';
import { newSessionId, RedisSessionStore, SessionCorruptError, type Message } from '../../src/session/index.ts';
import { ORIGINAL_BACKUP_TTL_SECONDS } from '../../src/session/original-layout.ts';
import { capturingLogger } from '../helpers/log-capture.ts';
import { deleteKeysMatching, redisUrlOrSkip } from '../helpers/services.ts';
import { ORIGINAL_MESSAGES, writeOriginalSession } from './original-layout-fixture.ts';

// One prefix per run keeps this file apart from every other test on the shared server.
const PREFIX = `t-orig-${process.pid}-${randomBytes(4).toString('hex')}`;
const newRawClient = (url: string) => createClient({ url });
type Raw = ReturnType<typeof newRawClient>;
const clients: Raw[] = [];
const stores: RedisSessionStore[] = [];
let sharedUrl: string | undefined;

after(async () => {
  for (const s of stores) await s.close();
  if (sharedUrl !== undefined) {
    // Test-only cleanup of this run's keys, ours, the original's and the backups ({PREFIX:...}).
    await deleteKeysMatching(await raw(sharedUrl), [`${PREFIX}*`, `{${PREFIX}*`]);
  }
  for (const c of clients) if (c.isOpen) await c.close();
});

async function raw(url: string): Promise<Raw> {
  const c = newRawClient(url);
  await c.connect();
  clients.push(c);
  return c;
}

async function setup(t: TestContext): Promise<{ url: string; raw: Raw; store: RedisSessionStore } | undefined> {
  const url = await redisUrlOrSkip(t);
  if (url === undefined) return undefined;
  sharedUrl = url;
  const store = await RedisSessionStore.open({ url, keyPrefix: PREFIX, ttlSeconds: 600 });
  stores.push(store);
  return { url, raw: await raw(url), store };
}

const expectedOurs = ORIGINAL_MESSAGES.map((m, i) => {
  const copy: Record<string, unknown> = { ...m, seq: i + 1 };
  if (m.tool_result !== undefined) copy.tool_result = { tool_call_id: m.tool_result.tool_use_id, content: m.tool_result.content };
  return copy;
});

for (const form of ['list', 'string'] as const) {
  test(`an original session (${form} history) is served on first access and moved into our layout`, async (t) => {
    const env = await setup(t);
    if (env === undefined) return;
    const { raw: r, store } = env;
    const id = newSessionId();
    await writeOriginalSession(r, PREFIX, id, { agent: `support-${form}`, form, metadata: { user: 'u-1' }, ttlSeconds: 3600 });

    const info = await store.get(id);
    assert.deepEqual(info, { id, agent: `support-${form}`, created_at: '2025-03-01T09:00:00.123Z', last_active: '2025-03-01T09:05:00.500Z', metadata: { user: 'u-1' } });
    const page = await store.loadMessages(id);
    assert.equal(page.total, 4);
    assert.deepEqual(page.messages, expectedOurs);

    // Our layout: hash with seq = n and the remaining TTL of the original; the original keys renamed to backups.
    assert.equal(await r.sendCommand(['HGET', `${PREFIX}:session:{${id}}`, 'seq']), '4');
    const ttl = Number(await r.sendCommand(['TTL', `${PREFIX}:session:{${id}}`]));
    assert.ok(ttl > 0 && ttl <= 3600, `ttl ${ttl}`);
    assert.equal(await r.sendCommand(['EXISTS', `${PREFIX}:session:${id}`, `${PREFIX}:session:${id}:messages`]), 0);
    const backupTtl = Number(await r.sendCommand(['TTL', `{${PREFIX}:session:${id}}:original`]));
    assert.ok(backupTtl > 0 && backupTtl <= ORIGINAL_BACKUP_TTL_SECONDS, `backup ttl ${backupTtl}`);
    assert.equal(await r.sendCommand(['TYPE', `{${PREFIX}:session:${id}:messages}:original`]), form);
    assert.equal(await r.sendCommand(['EXISTS', `{${PREFIX}:session:${id}}:migrating`]), 0, 'the claim is released');
    assert.deepEqual((await store.list(`support-${form}`)).map((s) => s.id), [id]);

    // From now on it is an ordinary session of ours.
    assert.equal(await store.appendMessages(id, [{ role: 'user', content: 'and now?' }]), 5);
    assert.equal((await store.loadMessages(id, { offset: 4 })).messages[0]?.content, 'and now?');
  });
}

test('50 concurrent appends racing the migration: old messages first, every message exactly once, one migrator', async (t) => {
  const env = await setup(t);
  if (env === undefined) return;
  const id = newSessionId();
  await writeOriginalSession(env.raw, PREFIX, id, { agent: 'race', form: 'list' });
  // Separate connections, as separate runtimes would have; none of them has seen the session.
  const logs = Array.from({ length: 5 }, () => capturingLogger());
  const racers = await Promise.all(logs.map(({ logger }) => RedisSessionStore.open({ url: env.url, keyPrefix: PREFIX, ttlSeconds: 600, logger })));
  stores.push(...racers);
  const sent: Message[] = Array.from({ length: 50 }, (_, i) => ({ role: 'user', content: `new ${i}` }));
  await Promise.all([
    ...sent.map((m, i) => racers[i % racers.length]!.appendMessages(id, [m])),
    ...racers.map((s) => s.loadMessages(id)),
  ]);

  const { messages, total } = await env.store.loadMessages(id);
  assert.equal(total, 54);
  assert.deepEqual(messages.slice(0, 4), expectedOurs, 'the original history comes first, in order, with seq 1..4');
  const contents = messages.slice(4).map((m) => m.content);
  assert.deepEqual([...contents].sort(), sent.map((m) => m.content).sort(), 'each new message once');
  const migrated = logs.flatMap((l) => l.lines()).filter((l) => l.msg === 'migrated a session from the original agentspec layout');
  assert.equal(migrated.length, 1, 'exactly one store moved it');
});

test('an original session that cannot be read fails with E_SESSION_CORRUPT and stays where it is', async (t) => {
  const env = await setup(t);
  if (env === undefined) return;
  const id = newSessionId();
  await env.raw.sendCommand(['SET', `${PREFIX}:session:${id}`, '{"id":"x","created_at":"2025-01-01T00:00:00Z"}', 'EX', '600']);
  await assert.rejects(env.store.get(id), (err: unknown) => err instanceof SessionCorruptError && /agent_name/.test(err.message));
  assert.equal(await env.raw.sendCommand(['EXISTS', `${PREFIX}:session:${id}`]), 1);
  assert.equal(await env.raw.sendCommand(['EXISTS', `${PREFIX}:session:{${id}}`, `{${PREFIX}:session:${id}}:migrating`]), 0);
});

test('deleting an original session removes it from both layouts and its backups', async (t) => {
  const env = await setup(t);
  if (env === undefined) return;
  const id = newSessionId();
  await writeOriginalSession(env.raw, PREFIX, id, { agent: 'gone', form: 'list' });
  assert.equal(await env.store.delete(id), true);
  const keys = [`${PREFIX}:session:${id}`, `${PREFIX}:session:${id}:messages`, `${PREFIX}:session:{${id}}`, `${PREFIX}:session:{${id}}:messages`, `{${PREFIX}:session:${id}}:original`, `{${PREFIX}:session:${id}:messages}:original`];
  assert.equal(await env.raw.sendCommand(['EXISTS', ...keys]), 0);
  assert.equal(await env.store.get(id), null);
  assert.equal(await env.store.delete(id), false);
});

test('a deleted session never comes back from original keys an interrupted migration left behind', async (t) => {
  const env = await setup(t);
  if (env === undefined) return;
  const id = newSessionId();
  await writeOriginalSession(env.raw, PREFIX, id, { agent: 'lingering', form: 'list' });
  assert.notEqual(await env.store.get(id), null);
  // As if a migrator had switched and died before retiring the original keys.
  await writeOriginalSession(env.raw, PREFIX, id, { agent: 'lingering', form: 'list' });
  assert.equal(await env.store.delete(id), true);
  assert.equal(await env.store.get(id), null);
  assert.equal(await env.raw.sendCommand(['EXISTS', `${PREFIX}:session:${id}`, `${PREFIX}:session:${id}:messages`, `{${PREFIX}:session:${id}}:original`]), 0);
});
