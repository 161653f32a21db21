import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';
import { newSessionId, RedisSessionStore } from '../../src/session/index.ts';
import { runCli } from '../helpers/cli.ts';
import { deleteKeysMatching, redisUrlOrSkip } from '../helpers/services.ts';
import { ORIGINAL_MESSAGES, writeOriginalSession } from '../session/original-layout-fixture.ts';

// Its own prefix on the shared server: the command only ever looks at keys under it.
const PREFIX = `t-migrate-${process.pid}-${randomBytes(4).toString('hex')}`;
const newRawClient = (url: string) => createClient({ url });
let raw: ReturnType<typeof newRawClient> | undefined;

after(async () => {
  if (raw === undefined) return;
  // Test-only cleanup of this run's keys, ours, the original's and the backups.
  await deleteKeysMatching(raw, [`${PREFIX}*`, `{${PREFIX}*`]);
  await raw.close();
});

function summary(stdout: string): Record<string, number> {
  const n = (re: RegExp): number => Number(re.exec(stdout)?.[1] ?? NaN);
  return {
    found: n(/^found (\d+) session/m),
    migrated: n(/^(?:would migrate|migrated) (\d+)$/m),
    already: n(/^skipped (\d+) already migrated$/m),
    failed: n(/^failed (\d+)$/m),
  };
}

test('sessions migrate: --dry-run counts, a run migrates and reports failures, a second run finds nothing left', { timeout: 120_000 }, async (t) => {
  const url = await redisUrlOrSkip(t);
  if (url === undefined) return;
  raw = newRawClient(url);
  await raw.connect();
  const lists = [newSessionId(), newSessionId(), newSessionId()];
  const str = newSessionId();
  const broken = newSessionId();
  for (const id of lists) await writeOriginalSession(raw, PREFIX, id, { agent: 'cli', form: 'list' });
  await writeOriginalSession(raw, PREFIX, str, { agent: 'cli', form: 'string' });
  await raw.sendCommand(['SET', `${PREFIX}:session:${broken}`, 'not json', 'EX', '600']);
  // Moved already, but its original keys are still there (a migrator that died before retiring them).
  const store = await RedisSessionStore.open({ url, keyPrefix: PREFIX, ttlSeconds: 600 });
  const both = (await store.create('cli')).id;
  await writeOriginalSession(raw, PREFIX, both, { agent: 'cli', form: 'list' });
  const args = ['sessions', 'migrate', '--redis', url, '--key-prefix', PREFIX];

  try {
    const dry = await runCli([...args, '--dry-run']);
    assert.equal(dry.code, 1, dry.stderr);
    assert.deepEqual(summary(dry.stdout), { found: 6, migrated: 4, already: 1, failed: 1 }, dry.stdout);
    assert.match(dry.stdout, /^would migrate 4$/m);
    assert.match(dry.stdout, new RegExp(`^  ${broken}: .*not JSON`, 'm'));
    assert.equal(await raw.sendCommand(['EXISTS', ...[...lists, str].map((id) => `${PREFIX}:session:{${id}}`)]), 0, 'a dry run writes nothing');

    const real = await runCli(args);
    assert.equal(real.code, 1, real.stderr);
    assert.deepEqual(summary(real.stdout), { found: 6, migrated: 4, already: 1, failed: 1 }, real.stdout);
    for (const id of [...lists, str]) {
      const page = await store.loadMessages(id);
      assert.equal(page.total, ORIGINAL_MESSAGES.length);
      assert.deepEqual(page.messages.map((m) => (m as { seq?: number }).seq), [1, 2, 3, 4]);
    }
    assert.equal(await raw.sendCommand(['EXISTS', `${PREFIX}:session:${both}`, `${PREFIX}:session:${both}:messages`]), 0, 'the lingering original keys are retired');
    assert.equal(await raw.sendCommand(['EXISTS', `${PREFIX}:session:${broken}`]), 1, 'a session that failed stays where it was');

    const again = await runCli(args);
    assert.equal(again.code, 1);
    assert.deepEqual(summary(again.stdout), { found: 1, migrated: 0, already: 0, failed: 1 }, again.stdout);

    await raw.sendCommand(['DEL', `${PREFIX}:session:${broken}`]);
    const clean = await runCli(args);
    assert.equal(clean.code, 0, clean.stderr);
    assert.deepEqual(summary(clean.stdout), { found: 0, migrated: 0, already: 0, failed: 0 }, clean.stdout);
  } finally {
    await store.close();
  }
});

test('sessions migrate without a Redis URL is a usage error', async () => {
  const r = await runCli(['sessions', 'migrate'], { env: { REDIS_URL: '' } });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /needs --redis URL/);
});
