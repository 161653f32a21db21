// Living beside the original agentspec, which locks `<state>.lock` with flock(2) and writes
// `{"pid":N,"created":"RFC3339","hostname":"h"}` into it. Real holders only: python's fcntl.flock,
// util-linux flock(1), and a child process holding an OFD lock through fs-native-extensions.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LocalBackend, StateLockedError } from '../../src/state/index.ts';
import { specText } from '../apply/support.ts';
import { jsonLogLines, runCli } from '../helpers/cli.ts';
import { freePort } from '../helpers/services.ts';
import { logLines, spawnChild } from './spawn-child.ts';

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'agentspec-original-'));
}

const PY_HOLDER = `
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
if len(sys.argv) > 2:
    os.ftruncate(fd, 0)
    os.write(fd, sys.argv[2].encode())
    os.fsync(fd)
print("locked", flush=True)
time.sleep(120)
`;

/** A process holding flock(2) on `lockPath` the way the original agentspec does, writing `info` into it. */
async function flockHolder(lockPath: string, info?: string): Promise<ChildProcess> {
  const args = ['-c', PY_HOLDER, lockPath, ...(info === undefined ? [] : [info])];
  const p = spawn('python3', args, { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    p.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.includes('locked')) resolve();
    });
    p.once('exit', (code) => reject(new Error(`flock holder exited early with ${String(code)}`)));
  });
  return p;
}

async function stop(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const gone = new Promise((r) => p.once('exit', r));
  p.kill('SIGKILL');
  await gone;
}

describe('the lock excludes the original agentspec and is excluded by it', () => {
  test('a flock(2) holder with original lock info: we wait, time out naming its pid, host and since, and leave its file alone', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'state.json');
    const lockPath = `${file}.lock`;
    const created = '2026-11-30T08:15:00Z';
    const info = JSON.stringify({ pid: 4242, created, hostname: 'old-box' });
    const holder = await flockHolder(lockPath, info);
    try {
      const b = new LocalBackend({ path: file });
      await assert.rejects(b.lock({ operation: 'test', timeoutMs: 300 }), (err: unknown) => {
        assert.ok(err instanceof StateLockedError, String(err));
        assert.equal(err.holderPid, 4242);
        assert.equal(err.hostname, 'old-box');
        assert.equal(err.since, created);
        assert.match(err.message, /pid 4242 on old-box \(the original agentspec, since 2026-11-30T08:15:00Z/);
        return true;
      });
      assert.equal(fs.readFileSync(lockPath, 'utf8'), info, 'the holder\'s lock info is untouched');

      const cli = (args: string[]): ReturnType<typeof runCli> =>
        runCli(['--log-level', 'info', '--log-format', 'json', '--state-file', file, ...args], { cwd: dir });
      const li = await cli(['state', 'lock-info']);
      assert.equal(li.code, 0, li.stderr);
      assert.match(li.stdout, /pid 4242 on old-box \(the original agentspec\)/);
      assert.match(li.stdout, /Since: +2026-11-30T08:15:00Z/);

      const spec = path.join(dir, 'p.ias');
      fs.writeFileSync(spec, specText('p', await freePort()));
      const ap = await cli(['apply', '--auto-approve', '--lock-timeout', '0', spec]);
      assert.equal(ap.code, 3, ap.stderr);
      assert.match(ap.stderr, /pid 4242 on old-box \(the original agentspec, since 2026-11-30T08:15:00Z/);
      const wait = jsonLogLines(ap.stderr).find((l) => l.msg === 'lock wait started');
      assert.ok(wait, ap.stderr);
      assert.equal(wait.holder_pid, 4242);
      assert.equal(wait.holder_hostname, 'old-box');
      assert.equal(wait.holder_since, created);
      assert.equal(fs.readFileSync(lockPath, 'utf8'), info);
      assert.equal(fs.existsSync(file), false, 'nothing was written');
    } finally {
      await stop(holder);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('partial original lock info ({"pid":N} only) still names the pid', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'state.json');
    const holder = await flockHolder(`${file}.lock`, '{"pid":777}');
    try {
      await assert.rejects(new LocalBackend({ path: file }).lock({ operation: 'test', timeoutMs: 0 }), (err: unknown) => {
        assert.ok(err instanceof StateLockedError);
        assert.equal(err.holderPid, 777);
        assert.match(err.message, /pid 777 on an unknown host/);
        return true;
      });
    } finally {
      await stop(holder);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('util-linux flock(1) holding the lock file keeps us out', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'state.json');
    const lockPath = `${file}.lock`;
    const holder = spawn('flock', [lockPath, '-c', 'echo locked; sleep 120'], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
    try {
      await new Promise<void>((resolve, reject) => {
        holder.stdout!.setEncoding('utf8').on('data', (d: string) => d.includes('locked') && resolve());
        holder.once('exit', (code) => reject(new Error(`flock(1) exited early with ${String(code)}`)));
      });
      await assert.rejects(new LocalBackend({ path: file }).lock({ operation: 'test', timeoutMs: 200 }), StateLockedError);
      assert.equal(fs.existsSync(lockPath), true, 'the lock file was not unlinked');
    } finally {
      process.kill(-holder.pid!, 'SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('while we hold the lock, neither a flock(2) nor an OFD lock can be taken by others', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'state.json');
    const lockPath = `${file}.lock`;
    const b = new LocalBackend({ path: file });
    await b.lock({ operation: 'test' });
    try {
      const f = spawnSync('flock', ['-n', lockPath, 'true']);
      assert.equal(f.status, 1, 'flock(1) -n must fail while we hold the lock');
      const py = spawnSync('python3', ['-c', 'import fcntl,os,sys\nfd=os.open(sys.argv[1],os.O_RDWR)\ntry:\n  fcntl.flock(fd,fcntl.LOCK_EX|fcntl.LOCK_NB)\n  print("got")\nexcept BlockingIOError:\n  print("busy")', lockPath], { encoding: 'utf8' });
      assert.equal(py.stdout.trim(), 'busy', py.stderr);
      const ofd = spawnChild(['fake-holder', file, '{}']);
      const r = await ofd.exited;
      assert.notEqual(r.code, 0, 'an OFD lock attempt must fail');
      assert.match(ofd.stderr(), /lock is taken/);
    } finally {
      await b.unlock();
      fs.rmSync(dir, { recursive: true, force: true });
    }
    // After release both kinds are free again.
  });

  test('a real OFD holder (another agentspec) keeps us out', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'state.json');
    const holder = spawnChild(['fake-holder', file, JSON.stringify({ pid: 1, hostname: os.hostname(), created: new Date().toISOString() })]);
    try {
      await holder.waitFor(/^ready$/);
      await assert.rejects(new LocalBackend({ path: file }).lock({ operation: 'test', timeoutMs: 200 }), StateLockedError);
      assert.equal(spawnSync('flock', ['-n', `${file}.lock`, 'true']).status, 0, 'an OFD holder alone does not take flock: we must check both');
    } finally {
      holder.proc.kill('SIGKILL');
      await holder.exited;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('an original-format lock file whose holder is gone: taken with the WARN "stale lock broken" naming it', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'state.json');
    try {
      const created = new Date(Date.now() - 3_600_000).toISOString();
      fs.writeFileSync(`${file}.lock`, JSON.stringify({ pid: 999_999, created, hostname: 'old-box' }));
      const child = spawnChild(['try-lock', file, '1000']);
      const r = await child.exited;
      assert.equal(r.code, 0, child.stderr());
      assert.equal((JSON.parse(child.lines[0]!) as { ok: boolean }).ok, true);
      const warn = logLines(child.stderr()).find((l) => l.msg === 'stale lock broken');
      assert.ok(warn, child.stderr());
      assert.equal(warn.level, 40);
      assert.equal(warn.stale_pid, 999_999);
      assert.equal(warn.stale_hostname, 'old-box');
      assert.ok(typeof warn.stale_age === 'number' && warn.stale_age >= 3_600_000, String(warn.stale_age));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
