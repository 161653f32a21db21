// Faults during a real apply (real CLI, real runtimes): a save that fails after Ctrl-C, a lock broken
// while a runtime starts, and a runtime whose stop fails. The user must learn the truth and no
// runtime may keep serving what the state does not record.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { isAlive, pidPath } from '../../src/adapters/index.ts';
import { forceUnlockFile } from '../../src/state/index.ts';
import { freePort } from '../helpers/services.ts';
import { applyWatching, explain, makeWorkspace, runtimesOf, type Workspace } from './support.ts';

const spaces: Workspace[] = [];
after(async () => {
  for (const ws of spaces) await ws.cleanup();
});

function workspace(): Workspace {
  const ws = makeWorkspace('agentspec-faults-');
  spaces.push(ws);
  return ws;
}

describe('faults during apply', () => {
  test('Ctrl-C, then the save fails: the save error reaches the user and the exit code', async () => {
    const ws = workspace();
    const spec = ws.writeSpec('intr', await freePort());
    const bak = `${ws.stateFile}.bak`;
    let broke = false;
    const r = await applyWatching(ws, [spec], (rec, pid) => {
      if (rec.msg !== 'runtime process started' || broke) return;
      broke = true;
      // A directory where the backup must be renamed: the next save fails at the OS level.
      fs.rmSync(bak, { force: true });
      fs.mkdirSync(bak);
      fs.writeFileSync(`${bak}/keep`, '');
      process.kill(pid, 'SIGINT');
    });
    assert.ok(broke, explain(r));
    assert.equal(r.code, 1, explain(r));
    assert.match(r.stderr, /Could not write state file/, explain(r));
    assert.doesNotMatch(r.stderr, /what was done is recorded in the state/, explain(r));
    assert.ok(ws.readState().entries.every((e) => e.status === 'pending'), 'the state still holds only the intent');
  });

  test('a holder whose lock is broken while its runtime starts stops that runtime and says so', async () => {
    const ws = workspace();
    const spec = ws.writeSpec('fenced', await freePort());
    let runtimePid = 0;
    let unlocked: Promise<unknown> = Promise.resolve();
    const r = await applyWatching(ws, [spec], (rec) => {
      if (rec.msg !== 'runtime process started' || runtimePid !== 0) return;
      runtimePid = Number(rec.runtime_pid);
      const lockPath = `${ws.stateFile}.lock`;
      const id = (JSON.parse(fs.readFileSync(lockPath, 'utf8')) as { id: string }).id;
      unlocked = forceUnlockFile(lockPath, id, { force: true });
    });
    await unlocked;
    assert.ok(runtimePid > 0, explain(r));
    assert.equal(r.code, 1, explain(r));
    assert.match(r.stderr, /Lost the state lock/, explain(r));
    assert.match(r.stderr, new RegExp(`pid ${runtimePid}\\) was stopped`), explain(r));
    assert.equal(isAlive(runtimePid), false, 'the runtime the fenced-out apply started is gone');
    assert.deepEqual(runtimesOf(ws.dir, 'fenced'), []);
    assert.ok(ws.readState().entries.every((e) => e.status === 'pending'));
  });

  test('a runtime that cannot be stopped fails its own entries; the other package is still applied', async () => {
    const ws = workspace();
    const [pa, pb] = [await freePort(), await freePort()];
    const a = ws.writeSpec('stuck', pa);
    const b = ws.writeSpec('fine', pb);
    const first = await ws.cli(['apply', '--auto-approve', a, b]);
    assert.equal(first.code, 0, explain(first));
    // An unreadable pid file makes every stop and reap of that package fail.
    const pidFile = pidPath(ws.dir, 'stuck');
    fs.rmSync(pidFile, { force: true });
    fs.mkdirSync(pidFile);
    fs.writeFileSync(`${pidFile}/x`, '');
    ws.writeSpec('stuck', pa, { version: 'v2' });
    ws.writeSpec('fine', pb, { version: 'v2' });
    const before = ws.readState();

    const r = await ws.cli(['apply', '--auto-approve', a, b]);
    assert.equal(r.code, 1, explain(r));
    const s = ws.readState();
    assert.ok(s.serial > before.serial, 'the outcome was recorded');
    const stuck = s.entries.filter((e) => e.fqn.startsWith('stuck/'));
    const fine = s.entries.filter((e) => e.fqn.startsWith('fine/'));
    const old = new Map(before.entries.map((e) => [e.fqn, e.hash]));
    // The changed entry (the prompt) records the stop error; the unchanged one is left as it was.
    const changedStuck = stuck.filter((e) => e.fqn === 'stuck/Prompt/p0');
    assert.equal(changedStuck.length, 1, JSON.stringify(stuck));
    assert.equal(changedStuck[0]!.status, 'failed');
    assert.match(changedStuck[0]!.error ?? '', /EISDIR/);
    assert.ok(fine.length > 0 && fine.every((e) => e.status === 'applied'), JSON.stringify(fine));
    assert.ok(fine.some((e) => e.hash !== old.get(e.fqn)), 'the other package\'s change was applied');
    assert.deepEqual(runtimesOf(ws.dir, 'fine'), [fine[0]!.runtime!.pid]);
  });
});
