import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createClient } from 'redis';
import { RedisSessionStore, SessionDurabilityUnsupportedError, SessionNotDurableError } from '../../src/session/index.ts';
import { assertOnDisk, persistenceRisk, waitAofCommand } from '../../src/session/durability.ts';
import { capturingLogger } from '../helpers/log-capture.ts';
import { privateRedisOrSkip } from '../helpers/services.ts';

test('with CONFIG disabled the settings come from INFO persistence, and AOF off still warns', async (t) => {
  const redis = await privateRedisOrSkip(t, { args: ['--rename-command', 'CONFIG', ''] });
  if (redis === undefined) return;
  const { logger, lines } = capturingLogger();
  try {
    const store = await RedisSessionStore.open({ url: redis.url, logger });
    await store.close();
    const warn = lines().find((l) => /acknowledged session messages can be lost/.test(String(l.msg)));
    assert.ok(warn !== undefined, JSON.stringify(lines()));
    assert.equal(warn.source, 'info');
    assert.equal(warn.appendonly, false);
  } finally {
    await redis.stop();
  }
});

test('an ACL that forbids INFO and CONFIG: the store still opens, and warns that it could not read the settings', async (t) => {
  const redis = await privateRedisOrSkip(t, { args: ['--user', 'default', 'on', 'nopass', '~*', '&*', '+@all', '-info', '-config'] });
  if (redis === undefined) return;
  const { logger, lines } = capturingLogger();
  try {
    const store = await RedisSessionStore.open({ url: redis.url, logger });
    const { id } = await store.create('acl');
    assert.equal(await store.appendMessages(id, [{ role: 'user', content: 'still works' }]), 1);
    await store.close();
    const warn = lines().find((l) => l.msg === 'could not read the Redis persistence settings: acknowledged session messages may be lost on a Redis restart');
    assert.ok(warn !== undefined, JSON.stringify(lines()));
    assert.equal(warn.redis_version, 'unknown');
    await assert.rejects(RedisSessionStore.open({ url: redis.url, durability: 'fsync' }), SessionDurabilityUnsupportedError);
  } finally {
    await redis.stop();
  }
});

test('fsync is refused on a server without WAITAOF with the error class, its code and the version', async (t) => {
  const redis = await privateRedisOrSkip(t);
  if (redis === undefined) return;
  try {
    await assert.rejects(RedisSessionStore.open({ url: redis.url, durability: 'fsync' }), (err: unknown) => {
      assert.ok(err instanceof SessionDurabilityUnsupportedError);
      assert.equal(err.code, 'E_SESSION_DURABILITY_UNSUPPORTED');
      assert.match(err.serverVersion, /^\d+\.\d+/);
      assert.ok(err.message.includes(`Redis ${err.serverVersion}`));
      return true;
    });
  } finally {
    await redis.stop();
  }
});

test('fsync on Redis >= 7.2: every append is confirmed by WAITAOF before it returns', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'agentspec-waitaof-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const redis = await privateRedisOrSkip(t, { dataDir: dir, args: ['--appendfsync', 'everysec'] });
  if (redis === undefined) return;
  const raw = createClient({ url: redis.url });
  await raw.connect();
  try {
    const version = /redis_version:(\S+)/.exec(String(await raw.sendCommand(['INFO', 'server'])))![1]!;
    const [major = 0, minor = 0] = version.split('.').map(Number);
    if (major < 7 || (major === 7 && minor < 2)) {
      // The refusal is what such a server gets (the test above and test/runtime/session-durability.test.ts).
      t.skip(`redis-server ${version} has no WAITAOF (7.2+)`);
      return;
    }
    const store = await RedisSessionStore.open({ url: redis.url, durability: 'fsync' });
    try {
      const { id } = await store.create('durable');
      for (let i = 0; i < 3; i++) await store.appendMessages(id, [{ role: 'user', content: `m${i}` }]);
      assert.match(String(await raw.sendCommand(['INFO', 'commandstats'])), /cmdstat_waitaof:calls=3,/);
      assert.equal((await store.loadMessages(id)).total, 3);
    } finally {
      await store.close();
    }
  } finally {
    await raw.close();
    await redis.stop();
  }
});

// WAITAOF itself needs Redis >= 7.2, which this suite cannot count on; its reply handling is checked on the reply shape.
test("WAITAOF's reply: local >= 1 acknowledges the append, 0 refuses it as not durable", () => {
  assert.deepEqual(waitAofCommand(2500), ['WAITAOF', '1', '0', '2500']);
  assert.doesNotThrow(() => assertOnDisk([1, 0], 'sess_x', 2500));
  assert.doesNotThrow(() => assertOnDisk([1, 2], 'sess_x', 2500));
  assert.throws(() => assertOnDisk([0, 0], 'sess_x', 2500), (err: unknown) => err instanceof SessionNotDurableError && err.code === 'E_SESSION_NOT_DURABLE' && err.local === 0 && /within 2500 ms/.test(err.message));
  assert.throws(() => assertOnDisk('OK', 'sess_x', 2500), SessionNotDurableError);
});

test('what counts as a risk: AOF off or appendfsync no; everysec and always do not', () => {
  const base = { version: '7.0.15', source: 'config' as const };
  assert.match(persistenceRisk({ ...base, appendonly: false, appendfsync: 'everysec' })!, /appendonly no/);
  assert.match(persistenceRisk({ ...base, appendonly: true, appendfsync: 'no' })!, /appendfsync no/);
  assert.equal(persistenceRisk({ ...base, appendonly: true, appendfsync: 'everysec' }), undefined);
  assert.equal(persistenceRisk({ ...base, appendonly: true, appendfsync: 'always' }), undefined);
});
