// Process handling of the process adapter against real processes: finding a package's runtimes
// by their command line, never signalling a pid that is not ours, SIGTERM then SIGKILL.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { findRuntimes, isAlive, isRuntimeOf, pidPath, ProcessAdapter, snapshotPath } from '../../src/adapters/index.ts';
import { isRuntimeCommand } from '../../src/adapters/processes.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'agentspec-procs-'));
const started: number[] = [];
after(() => {
  for (const pid of started) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

/** A long-lived process whose command line looks like the runtime of `pkg` (detached, like the real one). */
async function fakeRuntime(pkg: string, ignoreTerm = false): Promise<number> {
  const code = `${ignoreTerm ? "process.on('SIGTERM', () => {});" : ''} setInterval(() => {}, 1000); console.log('ready')`;
  const child = spawn(process.execPath, ['-e', code, 'run', '--ir', snapshotPath(dir, pkg)], {
    detached: true,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  started.push(child.pid!);
  // Ready means its signal handler is installed.
  await once(child.stdout, 'data');
  child.stdout.destroy();
  child.unref();
  return child.pid!;
}

async function until(cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(20);
  }
}

describe('process handling', () => {
  test('a runtime command line names its snapshot exactly', () => {
    assert.equal(isRuntimeCommand(['node', 'bin/agentspec.js', 'run', '--ir', '/a/p.json'], '/a/p.json'), true);
    assert.equal(isRuntimeCommand(['node', 'bin/agentspec.js', 'run', '--ir', '/a/p.json.x'], '/a/p.json'), false);
    assert.equal(isRuntimeCommand(['node', 'bin/agentspec.js', 'apply', '/a/p.json'], '/a/p.json'), false);
  });

  test("finds a package's runtimes in the process table and not another package's", async () => {
    const a = await fakeRuntime('alpha');
    const b = await fakeRuntime('beta');
    await until(() => findRuntimes(snapshotPath(dir, 'alpha')).includes(a));
    assert.deepEqual(findRuntimes(snapshotPath(dir, 'alpha')), [a]);
    assert.ok(isRuntimeOf(b, snapshotPath(dir, 'beta')));
    assert.equal(isRuntimeOf(b, snapshotPath(dir, 'alpha')), false);
    assert.equal(isRuntimeOf(process.pid, snapshotPath(dir, 'alpha')), false, 'an unrelated live pid is not a runtime');
  });

  test('stop ends recorded, pid-file and unrecorded runtimes, and leaves unrelated pids alone', async () => {
    const adapter = new ProcessAdapter({ stopGraceMs: 300 });
    const recorded = await fakeRuntime('gamma');
    const inPidFile = await fakeRuntime('gamma');
    const stray = await fakeRuntime('gamma', true);
    const other = await fakeRuntime('delta');
    await until(() => findRuntimes(snapshotPath(dir, 'gamma')).length === 3);
    mkdirSync(path.dirname(pidPath(dir, 'gamma')), { recursive: true });
    writeFileSync(pidPath(dir, 'gamma'), `${inPidFile}\n`);

    const r = await adapter.stop('gamma', dir, [recorded, process.pid]);
    assert.deepEqual([...r.stopped].sort((x, y) => x - y), [recorded, inPidFile, stray].sort((x, y) => x - y));
    assert.deepEqual(r.killed, [stray], 'the one ignoring SIGTERM needed SIGKILL');
    for (const pid of [recorded, inPidFile, stray]) assert.equal(isAlive(pid), false);
    assert.ok(isAlive(process.pid));
    assert.ok(isAlive(other), "another package's runtime is untouched");
  });

  test('reap keeps the tracked runtime and stops the rest', async () => {
    const adapter = new ProcessAdapter({ stopGraceMs: 300 });
    const keep = await fakeRuntime('eps');
    const orphan = await fakeRuntime('eps');
    await until(() => findRuntimes(snapshotPath(dir, 'eps')).length === 2);
    const r = await adapter.reap('eps', dir, [keep]);
    assert.deepEqual(r.stopped, [orphan]);
    assert.ok(isAlive(keep));
    assert.equal(isAlive(orphan), false);
  });
});
