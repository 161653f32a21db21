import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createClient } from 'redis';
import { runCli } from '../helpers/cli.ts';
import { privateRedisOrSkip } from '../helpers/services.ts';
import { irDoc } from './fixtures.ts';
import { startRunChild, type RunChild } from './run-child.ts';

const AOF_WARNING = /acknowledged session messages can be lost on a Redis restart/;

async function irFile(dir: string): Promise<string> {
  const file = path.join(dir, 'ir.json');
  await writeFile(file, JSON.stringify(irDoc({ pkg: 'durable', agents: [{ name: 'bot', model: 'echo' }] })));
  return file;
}

/** `agentspec run` on a private Redis with AOF on and the given appendfsync; both are stopped after the test. */
async function runOnAof(t: TestContext, appendfsync: string): Promise<RunChild | undefined> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'agentspec-aof-'));
  const redis = await privateRedisOrSkip(t, { dataDir: dir, args: ['--appendfsync', appendfsync] });
  const started: { run?: RunChild } = {};
  // One hook, in this order: the runtime stops before its Redis, the Redis before its files go.
  t.after(async () => {
    await started.run?.stop();
    await redis?.stop();
    await rm(dir, { recursive: true, force: true });
  });
  if (redis === undefined) return undefined;
  const raw = createClient({ url: redis.url });
  await raw.connect();
  try {
    assert.deepEqual(await raw.sendCommand(['CONFIG', 'GET', 'appendonly', 'appendfsync']), { appendonly: 'yes', appendfsync }, 'the server runs with the settings under test');
  } finally {
    await raw.close();
  }
  started.run = await startRunChild(['--ir', await irFile(dir), '--session-store', 'redis', '--redis-url', redis.url]);
  return started.run;
}

test('no AOF warning with appendonly yes and appendfsync everysec', { timeout: 60_000 }, async (t) => {
  const run = await runOnAof(t, 'everysec');
  if (run === undefined) return;
  assert.doesNotMatch(run.stderr(), AOF_WARNING);
  assert.ok(run.logs().some((l) => l.msg === 'runtime listening'));
});

test('the AOF warning names appendfsync no', { timeout: 60_000 }, async (t) => {
  const run = await runOnAof(t, 'no');
  if (run === undefined) return;
  const warn = run.logs().find((l) => AOF_WARNING.test(String(l.msg)));
  assert.ok(warn !== undefined, run.stderr());
  assert.equal(warn.level, 40);
  assert.equal(warn.appendfsync, 'no');
  assert.match(String(warn.msg), /appendfsync no/);
});

test('--session-durability fsync is refused at start-up by a Redis older than 7.2, naming its version', { timeout: 60_000 }, async (t) => {
  const redis = await privateRedisOrSkip(t);
  if (redis === undefined) return;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'agentspec-fsync-'));
  try {
    const raw = createClient({ url: redis.url });
    await raw.connect();
    const version = /redis_version:(\S+)/.exec(String(await raw.sendCommand(['INFO', 'server'])))![1]!;
    await raw.close();
    const [major = 0, minor = 0] = version.split('.').map(Number);
    if (major > 7 || (major === 7 && minor >= 2)) {
      t.skip(`redis-server ${version} has WAITAOF; this test needs one older than 7.2`);
      return;
    }
    const r = await runCli(['--log-format', 'json', 'run', '--port', '0', '--ir', await irFile(dir), '--session-store', 'redis', '--redis-url', redis.url, '--session-durability', 'fsync']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`--session-durability fsync cannot be honoured by Redis ${version.replace(/\./g, '\\.')}: WAITAOF needs Redis 7\\.2 or later`));
    assert.doesNotMatch(r.stdout, /listening on/);

    // The same through the environment variable; a value that is no mode is a usage error.
    const env = await runCli(['run', '--port', '0', '--ir', await irFile(dir), '--session-store', 'redis', '--redis-url', redis.url], { env: { AGENTSPEC_SESSION_DURABILITY: 'fsync' } });
    assert.equal(env.code, 2, env.stderr);
    assert.match(env.stderr, /WAITAOF needs Redis 7\.2/);
    const bogus = await runCli(['run', '--port', '0', '--ir', await irFile(dir), '--session-store', 'redis', '--redis-url', redis.url, '--session-durability', 'maybe']);
    assert.equal(bogus.code, 2);
    assert.match(bogus.stderr, /--session-durability: "maybe" is not one of ack, fsync/);
    const memory = await runCli(['run', '--port', '0', '--ir', await irFile(dir), '--session-durability', 'fsync']);
    assert.equal(memory.code, 2);
    assert.match(memory.stderr, /needs --session-store redis/);
  } finally {
    await redis.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
