// A runtime spawned ahead of its start, with the real runtime: it is recorded in the pid file at
// once, binds nothing until told to go, serves the snapshot written after it was spawned, and a
// standby that is dismissed, dead, or orphaned never serves.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { isAlive, isRuntimeOf, ProcessAdapter, type PreparedDeploy } from '../../src/adapters/index.ts';
import { killWorkspaceRuntimes } from '../apply/support.ts';
import { echoDocument } from '../helpers/ir.ts';
import { freePort } from '../helpers/services.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'agentspec-standby-'));
after(async () => {
  await killWorkspaceRuntimes(dir);
  rmSync(dir, { recursive: true, force: true });
});

async function prepared(adapter: ProcessAdapter, pkg: string): Promise<PreparedDeploy> {
  return adapter.prepare({
    package: pkg,
    document: echoDocument(pkg, 'hello'),
    target: { name: 'local', adapter: 'process', port: await freePort(), healthPath: '/healthz' },
    stateDir: dir,
  });
}

function pidInFile(p: PreparedDeploy): number | undefined {
  return existsSync(p.pidPath) ? Number(readFileSync(p.pidPath, 'utf8').trim()) : undefined;
}

/** Resolves once `pid` has exited (the test's own timeout bounds the wait). */
async function exited(pid: number): Promise<void> {
  while (isAlive(pid)) await sleep(20);
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

test('a standby is in the pid file at once and is the process start uses; it serves the snapshot written after it was spawned', { timeout: 120_000 }, async () => {
  const adapter = new ProcessAdapter({ stopGraceMs: 3000 });
  const p = await prepared(adapter, 'used');
  const standby = await adapter.standby(p);
  assert.equal(pidInFile(p), standby.pid);
  assert.ok(isRuntimeOf(standby.pid, p.snapshotPath), 'its command line names the snapshot, as any runtime of the package');
  assert.equal(existsSync(p.snapshotPath), false, 'nothing is written for it before the start');
  const info = await adapter.start(p, { standby, startTimeoutMs: 60_000 });
  assert.equal(info.pid, standby.pid);
  const res = await fetch(`${info.endpoint}/v1/agents`);
  assert.equal(res.status, 200);
  await standby.dismiss();
  assert.ok(isAlive(info.pid), 'dismissing a standby that start used leaves the runtime alone');
  await adapter.stop('used', dir, [info.pid]);
  await exited(info.pid);
});

test('a dismissed standby exits without having listened, and leaves no pid file', { timeout: 120_000 }, async () => {
  const adapter = new ProcessAdapter({ stopGraceMs: 3000 });
  const p = await prepared(adapter, 'dismissed');
  const standby = await adapter.standby(p);
  await standby.dismiss();
  await exited(standby.pid);
  assert.equal(pidInFile(p), undefined);
  assert.equal(await listening(p.port), false);
});

test('stop spares the standby it is told to, and the pid file keeps naming it', { timeout: 120_000 }, async () => {
  const adapter = new ProcessAdapter({ stopGraceMs: 3000 });
  const p = await prepared(adapter, 'spared');
  const standby = await adapter.standby(p);
  await adapter.stop('spared', dir, [], [standby.pid]);
  assert.ok(isAlive(standby.pid));
  assert.equal(pidInFile(p), standby.pid);
  await adapter.stop('spared', dir, []);
  await exited(standby.pid);
  assert.equal(pidInFile(p), undefined);
});

test('a standby that died before its start is replaced by a freshly spawned runtime', { timeout: 120_000 }, async () => {
  const adapter = new ProcessAdapter({ stopGraceMs: 3000 });
  const p = await prepared(adapter, 'replaced');
  const standby = await adapter.standby(p);
  process.kill(-standby.pid, 'SIGKILL');
  await exited(standby.pid);
  const info = await adapter.start(p, { standby, startTimeoutMs: 60_000 });
  assert.notEqual(info.pid, standby.pid);
  assert.equal(pidInFile(p), info.pid);
  await adapter.stop('replaced', dir, [info.pid]);
  await exited(info.pid);
});

test('a standby whose parent is killed exits by itself without listening', { timeout: 120_000 }, async () => {
  const port = await freePort();
  const adapters = fileURLToPath(new URL('../../src/adapters/index.ts', import.meta.url));
  const script = [
    `const { ProcessAdapter } = await import(${JSON.stringify(adapters)});`,
    'const adapter = new ProcessAdapter();',
    `const p = await adapter.prepare({ package: 'orphan', document: ${JSON.stringify(echoDocument('orphan', 'hi'))}, target: { name: 'local', adapter: 'process', port: ${port}, healthPath: '/healthz' }, stateDir: ${JSON.stringify(dir)} });`,
    'const s = await adapter.standby(p);',
    'process.stdout.write(`${s.pid}\\n`);',
    'setInterval(() => {}, 1000);',
  ].join('\n');
  const parent = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  parent.stdout.setEncoding('utf8');
  const pid = await new Promise<number>((resolve, reject) => {
    parent.stdout.on('data', (d: string) => {
      out += d;
      if (out.includes('\n')) resolve(Number(out.trim()));
    });
    parent.once('exit', (code) => reject(new Error(`the parent exited (${String(code)}) before spawning a standby`)));
  });
  assert.ok(isAlive(pid));
  parent.kill('SIGKILL');
  await exited(pid);
  assert.equal(await listening(port), false);
});
