// The user story end to end with the real CLI: applies, a corrupted state, concurrent applies,
// a stale lock, status, logs and destroy, all against one workspace and real runtime processes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { isAlive, pidPath } from '../../src/adapters/index.ts';
import { freePort } from '../helpers/services.ts';
import { LocalBackend } from '../../src/state/index.ts';
import { explain, logsWith, makeWorkspace, runtimesOf, startCli, type Workspace } from './support.ts';

describe('apply user story', () => {
  let ws: Workspace;
  let spec: string;
  let port: number;

  before(async () => {
    ws = makeWorkspace();
    port = await freePort();
    spec = ws.writeSpec('story', port, { agents: 2 });
  });
  after(async () => {
    await ws.cleanup();
  });

  test('first apply starts the runtime and records it', async () => {
    const r = await ws.cli(['apply', '--auto-approve', spec]);
    assert.equal(r.code, 0, explain(r));
    assert.match(r.stdout, /^Apply complete! 4 created, 0 updated, 0 destroyed\.$/m);
    const state = ws.readState();
    assert.equal(state.entries.length, 4);
    const pids = new Set(state.entries.map((e) => e.runtime?.pid));
    assert.equal(pids.size, 1);
    const pid = [...pids][0]!;
    assert.ok(isAlive(pid));
    assert.deepEqual(runtimesOf(ws.dir, 'story'), [pid]);
    for (const e of state.entries) {
      assert.equal(e.status, 'applied');
      assert.equal(e.runtime?.port, port);
      assert.equal(e.runtime?.endpoint, `http://127.0.0.1:${port}`);
    }
    const health = (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as { status: string };
    assert.equal(health.status, 'healthy');
    assert.equal(readFileSync(pidPath(ws.dir, 'story'), 'utf8').trim(), String(pid));
  });

  test('second apply with no changes leaves the process alone and keeps a valid backup', async () => {
    const before = ws.readState();
    const r = await ws.cli(['apply', '--auto-approve', spec]);
    assert.equal(r.code, 0, explain(r));
    // A no-op apply says so once, and nothing else.
    assert.equal(r.stdout, 'No changes. The deployment matches the spec.\n');
    const after = ws.readState();
    assert.equal(after.entries[0]!.runtime?.pid, before.entries[0]!.runtime?.pid);
    const bak = `${ws.stateFile}.bak`;
    assert.ok(existsSync(bak), 'the backup exists after two applies');
    const backup = JSON.parse(readFileSync(bak, 'utf8')) as { entries: unknown[]; lineage: string };
    assert.equal(backup.lineage, after.lineage);
    assert.ok(Array.isArray(backup.entries));
  });

  test('a changed resource restarts the runtime and shows what changed', async () => {
    const oldPid = ws.readState().entries[0]!.runtime!.pid;
    ws.writeSpec('story', port, { agents: 2, version: 'v2' });
    const plan = await ws.cli(['plan', '--detailed-exitcode', spec]);
    assert.equal(plan.code, 2, explain(plan));
    assert.match(plan.stdout, /~ story\/Prompt\/p0/);
    assert.match(plan.stdout, /content: "You are agent 0 \(v1\)\." -> "You are agent 0 \(v2\)\."/);
    const r = await ws.cli(['apply', '--auto-approve', spec]);
    assert.equal(r.code, 0, explain(r));
    assert.match(r.stdout, /^Apply complete! 0 created, 2 updated, 0 destroyed\.$/m);
    const newPid = ws.readState().entries[0]!.runtime!.pid;
    assert.notEqual(newPid, oldPid);
    assert.equal(isAlive(oldPid), false);
    assert.deepEqual(runtimesOf(ws.dir, 'story'), [newPid]);
  });

  test('a corrupted state is restored from the backup with an ERROR line, and apply succeeds', async () => {
    writeFileSync(ws.stateFile, 'corrupted{\n');
    const r = await ws.cli(['apply', '--auto-approve', spec]);
    assert.equal(r.code, 0, explain(r));
    const fallback = logsWith(r, 'backup fallback');
    assert.equal(fallback.length, 1, explain(r));
    assert.equal(fallback[0]!.level, 50);
    const state = ws.readState();
    assert.equal(state.entries.length, 4);
    assert.deepEqual(runtimesOf(ws.dir, 'story'), [state.entries[0]!.runtime!.pid]);
  });

  test('two applies at once both succeed and one of them waited for the lock', async () => {
    ws.writeSpec('story', port, { agents: 2, version: 'v3' });
    // Hold the lock while both start, so they surely meet at it whatever the machine's load.
    const holder = new LocalBackend({ path: ws.stateFile });
    await holder.lock({ operation: 'test' });
    const a = startCli(ws, ['apply', '--auto-approve', spec]);
    const b = startCli(ws, ['apply', '--auto-approve', spec]);
    try {
      await Promise.all([a.waiting, b.waiting]);
    } finally {
      await holder.unlock();
    }
    const [ra, rb] = await Promise.all([a.done, b.done]);
    assert.equal(ra.code, 0, explain(ra));
    assert.equal(rb.code, 0, explain(rb));
    assert.ok(logsWith(ra, 'lock wait started').length + logsWith(rb, 'lock wait started').length >= 1);
    // One of them did the update, the other found nothing left to do.
    assert.equal([ra, rb].filter((r) => /Apply complete! 0 created, 2 updated/.test(r.stdout)).length, 1, `${explain(ra)}\n${explain(rb)}`);
    assert.equal([ra, rb].filter((r) => /No changes/.test(r.stdout)).length, 1);
    const state = ws.readState();
    assert.deepEqual(runtimesOf(ws.dir, 'story'), [state.entries[0]!.runtime!.pid]);
  });

  test('a lock left by a dead process is broken with a WARN and apply succeeds', async () => {
    const old = '2020-01-01T00:00:00.000Z';
    writeFileSync(
      `${ws.stateFile}.lock`,
      JSON.stringify({ id: 'dead-holder', pid: 2147483, hostname: os.hostname(), created: old, heartbeat: old, operation: 'apply', who: 'ghost', version: '0.0.1' }),
    );
    const r = await ws.cli(['apply', '--auto-approve', '--lock-timeout', '10s', spec]);
    assert.equal(r.code, 0, explain(r));
    const stale = logsWith(r, 'stale lock broken');
    assert.equal(stale.length, 1, explain(r));
    assert.equal(stale[0]!.level, 40);
  });

  test('status shows the running runtime; a dead runtime is reported and restarted by the next apply', async () => {
    const st = await ws.cli(['status', '--json']);
    assert.equal(st.code, 0, explain(st));
    const rows = (JSON.parse(st.stdout) as { resources: Array<{ fqn: string; state: string; pid: number; health: string; endpoint: string }> }).resources;
    assert.equal(rows.length, 4);
    for (const row of rows) {
      assert.equal(row.state, 'running');
      assert.equal(row.health, 'healthy');
      assert.equal(row.endpoint, `http://127.0.0.1:${port}`);
    }
    const pid = rows[0]!.pid;
    process.kill(-pid, 'SIGKILL');
    while (isAlive(pid)) await new Promise((r) => setTimeout(r, 20));

    const dead = await ws.cli(['status', spec]);
    // A runtime that is down is a non-zero exit, so a script or monitor notices.
    assert.equal(dead.code, 1, explain(dead));
    assert.match(dead.stdout, /story\/Agent\/a0\s+stopped\s+\d+\s+\S+\s+down/);
    const plan = await ws.cli(['plan', '--json', spec]);
    const planned = JSON.parse(plan.stdout) as { summary: { update: number } };
    assert.equal(planned.summary.update, 4);

    const r = await ws.cli(['apply', '--auto-approve', spec]);
    assert.equal(r.code, 0, explain(r));
    const again = await ws.cli(['status', '--json', spec]);
    const rows2 = (JSON.parse(again.stdout) as { resources: Array<{ state: string; pid: number }> }).resources;
    assert.ok(rows2.every((row) => row.state === 'running' && row.pid !== pid));
  });

  test('logs prints the runtime log of an agent', async () => {
    const r = await ws.cli(['logs', 'a1', '--tail', '50']);
    assert.equal(r.code, 0, explain(r));
    assert.match(r.stdout, /listening on http:\/\/127\.0\.0\.1:\d+/);
    const unknown = await ws.cli(['logs', 'nobody']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no deployed agent or package named "nobody"/);
  });

  test('destroy stops the runtime and removes the entries', async () => {
    const pid = ws.readState().entries[0]!.runtime!.pid;
    const r = await ws.cli(['destroy', '--auto-approve', spec]);
    assert.equal(r.code, 0, explain(r));
    // destroy shows its plan first, then what it did.
    assert.match(r.stdout, /^ {2}- story\/Agent\/a0$/m);
    assert.match(r.stdout, /^Plan: 4 to destroy\.$/m);
    assert.match(r.stdout, /^ {2}- story\/Agent\/a0: destroyed/m);
    assert.match(r.stdout, /^Destroy complete! 4 destroyed\.$/m);
    assert.equal(isAlive(pid), false);
    assert.deepEqual(runtimesOf(ws.dir, 'story'), []);
    assert.deepEqual(ws.readState().entries, []);
    assert.equal(existsSync(pidPath(ws.dir, 'story')), false);
  });
});
