// The PostgreSQL backend against a real server (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test).
import { after, before, describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import {
  PostgresBackend,
  StateLockLostError,
  StateLockedError,
  StateSerialMismatchError,
  openBackend,
  type StateEntry,
} from '../../src/state/index.ts';
import { runCli } from '../helpers/cli.ts';
import { canConnect } from '../helpers/services.ts';
import { logLines, spawnChild } from './spawn-child.ts';

const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
let available = false;
const workspaces: string[] = [];

function workspaceUrl(): string {
  const u = new URL(DATABASE_URL);
  const workspace = `test-${randomUUID()}`;
  workspaces.push(workspace);
  u.searchParams.set('workspace', workspace);
  return u.toString();
}

function entry(fqn: string): StateEntry {
  return { fqn, hash: `sha256:${fqn}`, status: 'applied', last_applied: '2026-11-27T10:00:00.000Z', adapter: 'process' };
}

async function sql(text: string, params: unknown[] = []): Promise<pg.QueryResult> {
  const c = new pg.Client({ connectionString: DATABASE_URL });
  await c.connect();
  try {
    return await c.query(text, params);
  } finally {
    await c.end();
  }
}

/** Outside CI a missing server skips the test with the reason (under CI=true `before` fails instead). */
function skipWithoutServer(t: TestContext): boolean {
  if (available) return false;
  t.skip(`PostgreSQL is not reachable at ${new URL(DATABASE_URL).host}: set DATABASE_URL or start PostgreSQL (required when CI=true)`);
  return true;
}

describe('PostgreSQL state backend', () => {
  before(async () => {
    const u = new URL(DATABASE_URL);
    available = await canConnect(u.hostname, Number(u.port || 5432), 2000);
    if (!available && process.env.CI === 'true') throw new Error(`PostgreSQL is required in CI and is not reachable at ${u.host}`);
  });

  after(async () => {
    if (!available || workspaces.length === 0) return;
    await sql('DELETE FROM agentspec_state WHERE workspace = ANY($1)', [workspaces]);
    await sql('DELETE FROM agentspec_lock WHERE workspace = ANY($1)', [workspaces]);
  });

  test('save/load round trip, serial check, previous state kept as backup', async (t) => {
    if (skipWithoutServer(t)) return;
    const url = workspaceUrl();
    const b = openBackend({ stateFile: 'unused', backend: url });
    assert.ok(b instanceof PostgresBackend);
    assert.doesNotMatch(b.location, /workspace=/);
    await b.lock({ operation: 'test' });
    try {
      let s = await b.load({ repair: true });
      assert.equal(s.serial, 0);
      s = await b.save([entry('b/Agent/2'), entry('a/Agent/1')], s.serial);
      const first = s;
      s = await b.save([entry('c/Agent/3')], s.serial);
      assert.equal(s.serial, 2);
      await assert.rejects(b.save([entry('x/Agent/x')], first.serial), StateSerialMismatchError);
      const ro = await openBackend({ stateFile: 'unused', backend: url }).load();
      assert.deepEqual(ro.entries.map((e) => e.fqn), ['c/Agent/3']);
      const workspace = new URL(url).searchParams.get('workspace');
      const row = await sql('SELECT serial, backup FROM agentspec_state WHERE workspace = $1', [workspace]);
      assert.equal(Number(row.rows[0].serial), 2);
      assert.deepEqual((JSON.parse(row.rows[0].backup as string) as { entries: StateEntry[] }).entries.map((e) => e.fqn), ['a/Agent/1', 'b/Agent/2']);
    } finally {
      await b.unlock();
    }
  });

  test('a corrupt state row falls back to the backup and is repaired under the lock', async (t) => {
    if (skipWithoutServer(t)) return;
    const url = workspaceUrl();
    const workspace = new URL(url).searchParams.get('workspace');
    const b = openBackend({ stateFile: 'unused', backend: url });
    await b.lock({ operation: 'test' });
    const s0 = await b.load({ repair: true });
    const s1 = await b.save([entry('a/Agent/1')], s0.serial);
    await b.save([entry('a/Agent/2')], s1.serial);
    await b.unlock();
    await sql("UPDATE agentspec_state SET body = '{\"version\":' WHERE workspace = $1", [workspace]);
    const c = spawnChild(['load', url, 'repair']);
    await c.exited;
    assert.equal((JSON.parse(c.lines[0]!) as { serial: number }).serial, 1, c.stderr());
    const msgs = logLines(c.stderr()).map((l) => l.msg);
    assert.ok(msgs.includes('state corrupted') && msgs.includes('backup fallback') && msgs.includes('state restored from backup'), msgs.join(','));
    const row = await sql('SELECT serial, body FROM agentspec_state WHERE workspace = $1', [workspace]);
    assert.equal(Number(row.rows[0].serial), 1);
  });

  test('a killed holder\'s lock is taken at once (the server ends its session), with the WARN', async (t) => {
    if (skipWithoutServer(t)) return;
    const url = workspaceUrl();
    const holder = spawnChild(['hold', url, '600000']);
    await holder.waitFor(/^locked /);
    holder.proc.kill('SIGKILL');
    await holder.exited;
    const waiter = spawnChild(['try-lock', url, '10000']);
    await waiter.exited;
    assert.equal((JSON.parse(waiter.lines[0]!) as { ok: boolean }).ok, true, waiter.stderr());
    const warn = logLines(waiter.stderr()).find((l) => l.msg === 'stale lock broken');
    assert.equal(warn?.stale_pid, holder.proc.pid);
  });

  test('a live holder past the timeout: StateLockedError naming it; force-unlock makes its save fail and write nothing', async (t) => {
    if (skipWithoutServer(t)) return;
    const url = workspaceUrl();
    const holder = openBackend({ stateFile: 'unused', backend: url });
    const info = await holder.lock({ operation: 'apply' });
    try {
      const s = await holder.load({ repair: true });
      const other = openBackend({ stateFile: 'unused', backend: url });
      await assert.rejects(other.lock({ operation: 'second', timeoutMs: 200 }), (err: unknown) => {
        assert.ok(err instanceof StateLockedError);
        assert.equal(err.lockId, info.id);
        assert.equal(err.operation, 'apply');
        assert.equal(err.exitCode, 3);
        return true;
      });
      assert.equal((await other.lockInfo())?.id, info.id);
      await assert.rejects(other.forceUnlock(info.id), /live process/);
      await other.forceUnlock(info.id, { force: true });
      await assert.rejects(holder.save([entry('a/Agent/1')], s.serial), StateLockLostError);
      assert.equal((await other.load()).serial, 0, 'nothing was written');
      await other.lock({ operation: 'after', timeoutMs: 5000 });
      await other.unlock();
    } finally {
      await holder.unlock();
    }
  });

  test('6 processes adding entries under the lock lose no update', async (t) => {
    if (skipWithoutServer(t)) return;
    const url = workspaceUrl();
    const per = 8;
    const children = Array.from({ length: 6 }, (_, i) => spawnChild(['add', url, `p${i}`, String(per)]));
    const exits = await Promise.all(children.map((c) => c.exited));
    exits.forEach((e, i) => assert.equal(e.code, 0, children[i]!.stderr()));
    const s = await openBackend({ stateFile: 'unused', backend: url }).load();
    assert.equal(s.serial, 6 * per);
    assert.equal(s.entries.length, 6 * per);
  });

  test('the CLI uses it with --state-backend or AGENTSPEC_STATE_BACKEND', async (t) => {
    if (skipWithoutServer(t)) return;
    const url = workspaceUrl();
    const b = openBackend({ stateFile: 'unused', backend: url });
    await b.lock({ operation: 'seed' });
    await b.save([entry('demo/Agent/pg')], (await b.load({ repair: true })).serial);
    await b.unlock();
    const viaFlag = await runCli(['state', 'list', '--json', '--state-backend', url]);
    assert.equal(viaFlag.code, 0, viaFlag.stderr);
    assert.deepEqual((JSON.parse(viaFlag.stdout) as StateEntry[]).map((e) => e.fqn), ['demo/Agent/pg']);
    const viaEnv = await runCli(['state', 'lock-info'], { env: { AGENTSPEC_STATE_BACKEND: url } });
    assert.equal(viaEnv.code, 0, viaEnv.stderr);
    assert.equal(viaEnv.stdout, 'not locked\n');
  });
});
