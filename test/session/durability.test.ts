import { test } from 'node:test';
import assert from 'node:assert/strict';
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
