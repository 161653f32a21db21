import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LocalBackend, StateLockLostError, StateLockPathError, StateLockedError, type LockInfo } from '../../src/state/index.ts';
import { logLines, spawnChild } from './spawn-child.ts';

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'agentspec-lock-'));
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function until(cond: () => boolean, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(10);
  }
}

function readState(file: string): { serial: number; entries: Array<{ fqn: string }> } {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as { serial: number; entries: Array<{ fqn: string }> };
}

describe('state lock across processes', () => {
  test('two processes race: one holds, the other waits and then succeeds', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'state.json');
    try {
      const go = `${file}.go`;
      const holder = spawnChild(['hold', file, '0', '', go]);
      let waiter;
      try {
        await holder.waitFor(/^locked /);
        waiter = spawnChild(['try-lock', file, '30000']);
        const w = waiter;
        await until(() => w.stderr().includes('lock wait started'));
      } finally {
        fs.writeFileSync(go, '');
      }
      const [h, w] = await Promise.all([holder.exited, waiter.exited]);
      assert.equal(h.code, 0, holder.stderr());
      assert.equal(w.code, 0, waiter.stderr());
      assert.ok(holder.lines.includes('saved'));
      const result = JSON.parse(waiter.lines[0]!) as { ok: boolean };
      assert.equal(result.ok, true);
      const waitLog = logLines(waiter.stderr()).find((l) => l.msg === 'lock wait started');
      assert.ok(waitLog, 'the waiter logged that it waited');
      assert.equal(waitLog.holder_pid, holder.proc.pid);
      assert.equal(waitLog.holder_hostname, os.hostname());
      // Both saves landed, the holder's first: the waiter built on it (no lost update).
      const s = readState(file);
      assert.equal(s.serial, 2);
      assert.deepEqual(
        s.entries.map((e) => e.fqn),
        [`holder/Agent/p${holder.proc.pid}`, `waiter/Agent/p${waiter.proc.pid}`],
      );
      const acquired = logLines(waiter.stderr()).find((l) => l.msg === 'lock acquired');
      assert.equal(acquired?.path, `${file}.lock`);
      const released = logLines(holder.stderr()).find((l) => l.msg === 'lock released');
      assert.equal(typeof released?.held_ms, 'number');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a lock file left by a killed holder is taken at once, with a WARN naming the dead holder', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'state.json');
    try {
      const holder = spawnChild(['hold', file, '600000']);
      const locked = await holder.waitFor(/^locked /);
      holder.proc.kill('SIGKILL');
      await holder.exited;
      // The lock file and its info are still there; only the kernel lock died with the process.
      const left = JSON.parse(fs.readFileSync(`${file}.lock`, 'utf8')) as LockInfo;
      assert.equal(left.id, locked.split(' ')[1]);

      const waiter = spawnChild(['try-lock', file, '0']);
      await waiter.exited;
      assert.equal((JSON.parse(waiter.lines[0]!) as { ok: boolean }).ok, true, waiter.stderr());
      const warn = logLines(waiter.stderr()).find((l) => l.msg === 'stale lock broken');
      assert.ok(warn, waiter.stderr());
      assert.equal(warn.level, 40);
      assert.equal(warn.stale_pid, holder.proc.pid);
      assert.equal(warn.stale_hostname, os.hostname());
      assert.equal(typeof warn.stale_age, 'number');
      assert.equal(warn.path, `${file}.lock`);
      assert.equal(fs.existsSync(`${file}.lock`), false, 'the waiter removed the lock file on unlock');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a live holder past the timeout makes the waiter fail with StateLockedError naming it', async (t) => {
    const dir = tempDir();
    const file = path.join(dir, 'state.json');
    try {
      const holder = spawnChild(['hold', file, '600000']);
      t.after(() => holder.proc.kill('SIGKILL'));
      const locked = await holder.waitFor(/^locked /);
      const waiter = spawnChild(['try-lock', file, '300']);
      await waiter.exited;
      const r = JSON.parse(waiter.lines[0]!) as Record<string, unknown>;
      assert.equal(r.ok, false);
      assert.equal(r.code, 'E_STATE_LOCKED');
      assert.equal(r.holderPid, holder.proc.pid);
      assert.equal(r.hostname, os.hostname());
      assert.equal(r.operation, 'hold');
      assert.equal(r.lockId, locked.split(' ')[1]);
      assert.equal(typeof r.since, 'string');
      assert.match(String(r.message), /--lock-timeout/);
      assert.match(String(r.message), new RegExp(`agentspec state unlock ${String(r.lockId)}`));
      const timeout = logLines(waiter.stderr()).find((l) => l.msg === 'lock timeout');
      assert.ok(timeout);
      assert.equal(timeout.level, 50);
      assert.equal(timeout.holder_pid, holder.proc.pid);
      assert.ok(Number(timeout.wait_ms) >= 300);
      holder.proc.kill('SIGKILL');
      await holder.exited;
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('timeout 0 fails at once while a live holder has the lock', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'state.json');
    const b = new LocalBackend({ path: file });
    const other = new LocalBackend({ path: file });
    try {
      await b.lock({ operation: 'first' });
      await assert.rejects(other.lock({ operation: 'second', timeoutMs: 0 }), (err: unknown) => {
        assert.ok(err instanceof StateLockedError);
        assert.equal(err.exitCode, 3);
        assert.equal(err.holderPid, process.pid);
        assert.equal(err.operation, 'first');
        return true;
      });
    } finally {
      await b.unlock();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a live holder on another host that runs longer than the stale threshold keeps its lock (heartbeat)', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'state.json');
    try {
      // The holder claims another host, so only its heartbeat protects it.
      const go = `${file}.go`;
      // Its heartbeat runs every 2000/3 ms; the waiter gives up after 5 s, well past the 2 s threshold.
      const holder = spawnChild(['hold', file, '0', '2000', go], { AGENTSPEC_HOSTNAME: 'build-server-2' });
      const waiter = await (async () => {
        try {
          await holder.waitFor(/^locked /);
          const w = spawnChild(['try-lock', file, '5000', '2000']);
          await w.exited;
          return w;
        } finally {
          fs.writeFileSync(go, '');
        }
      })();
      const r = JSON.parse(waiter.lines[0]!) as Record<string, unknown>;
      assert.equal(r.code, 'E_STATE_LOCKED', waiter.lines[0]);
      assert.equal(r.hostname, 'build-server-2');
      assert.equal(logLines(waiter.stderr()).find((l) => l.msg === 'stale lock broken'), undefined);
      await holder.exited;
      assert.ok(holder.lines.includes('saved'), holder.lines.join('|'));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a holder on another host whose heartbeat stopped is broken; it then gets StateLockLostError and writes nothing', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'state.json');
    try {
      // This holder's own threshold is an hour, so it does not refresh within the test: as seen from
      // here its heartbeat goes stale after 300 ms, like a host that froze or lost the network.
      const go = `${file}.go`;
      const holder = spawnChild(['hold', file, '0', '3600000', go], { AGENTSPEC_HOSTNAME: 'frozen-host' });
      const waiter = await (async () => {
        try {
          await holder.waitFor(/^locked /);
          const w = spawnChild(['try-lock', file, '10000', '300']);
          await w.exited;
          return w;
        } catch (err) {
          fs.writeFileSync(go, '');
          throw err;
        }
      })();
      assert.equal((JSON.parse(waiter.lines[0]!) as { ok: boolean }).ok, true, waiter.stderr());
      const warn = logLines(waiter.stderr()).find((l) => l.msg === 'stale lock broken');
      assert.equal(warn?.stale_hostname, 'frozen-host');
      assert.equal(warn?.stale_pid, holder.proc.pid);
      const afterWaiter = fs.readFileSync(file, 'utf8');

      fs.writeFileSync(go, '');
      await holder.exited;
      assert.ok(holder.lines.includes('save-error E_STATE_LOCK_LOST'), holder.lines.join('|'));
      assert.equal(fs.readFileSync(file, 'utf8'), afterWaiter, 'the broken holder wrote nothing');
      assert.deepEqual(
        readState(file).entries.map((e) => e.fqn),
        [`waiter/Agent/p${waiter.proc.pid}`],
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a kernel-held lock written by another host is broken once its heartbeat is older than the threshold', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'state.json');
    try {
      const old = new Date(Date.now() - 10 * 60_000).toISOString();
      const info: LockInfo = { id: 'remote-lock', pid: 99999, hostname: 'remote', created: old, heartbeat: old, operation: 'apply', who: 'ci', version: '0.1.0' };
      const fake = spawnChild(['fake-holder', file, JSON.stringify(info)]);
      await fake.waitFor(/^ready$/);
      const b = new LocalBackend({ path: file });
      const got = await b.lock({ operation: 'apply', timeoutMs: 5000, staleAfterMs: 60_000 });
      assert.notEqual(got.id, 'remote-lock');
      await b.unlock();
      fake.proc.kill('SIGKILL');
      await fake.exited;
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('force-unlocking a live holder makes its next save fail with StateLockLostError', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'state.json');
    const holder = new LocalBackend({ path: file });
    const admin = new LocalBackend({ path: file });
    try {
      const info = await holder.lock({ operation: 'apply' });
      const s = await holder.load({ repair: true });
      await assert.rejects(admin.forceUnlock(info.id), /live process/);
      await admin.forceUnlock(info.id, { force: true });
      await assert.rejects(holder.save([], s.serial), StateLockLostError);
      assert.equal(fs.existsSync(file), false, 'nothing was written');
      assert.deepEqual(fs.readdirSync(dir), []);
    } finally {
      await holder.unlock();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a symlinked lock file is refused', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'state.json');
    const target = path.join(dir, 'elsewhere');
    fs.writeFileSync(target, 'do not touch\n');
    fs.symlinkSync(target, `${file}.lock`);
    try {
      const b = new LocalBackend({ path: file });
      await assert.rejects(b.lock({ operation: 'apply', timeoutMs: 0 }), (err: unknown) => {
        assert.ok(err instanceof StateLockPathError);
        assert.match(err.message, /symbolic link/);
        return true;
      });
      assert.equal(fs.readFileSync(target, 'utf8'), 'do not touch\n');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('10 processes each adding their own entries under the lock, repeatedly, lose no update', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'state.json');
    const perProcess = 15;
    try {
      const children = Array.from({ length: 10 }, (_, i) => spawnChild(['add', file, `p${i}`, String(perProcess)]));
      const exits = await Promise.all(children.map((c) => c.exited));
      exits.forEach((e, i) => assert.equal(e.code, 0, children[i]!.stderr()));
      const s = readState(file);
      const expected = Array.from({ length: 10 }, (_, i) => Array.from({ length: perProcess }, (_, j) => `p${i}/Agent/e${j}`)).flat().sort();
      assert.deepEqual(s.entries.map((e) => e.fqn), expected);
      assert.equal(s.serial, 10 * perProcess);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('lock/unlock churn across processes never has two holders at once', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'state.json');
    const log = path.join(dir, 'holders.log');
    const rounds = 60;
    try {
      const children = Array.from({ length: 4 }, () => spawnChild(['churn', file, log, String(rounds)]));
      const exits = await Promise.all(children.map((c) => c.exited));
      exits.forEach((e, i) => assert.equal(e.code, 0, children[i]!.stderr()));
      const lines = fs.readFileSync(log, 'utf8').trim().split('\n');
      assert.equal(lines.length, 4 * rounds * 2);
      let inside: string | null = null;
      for (const [i, line] of lines.entries()) {
        const [what, pid] = line.split(' ');
        if (what === 'enter') {
          assert.equal(inside, null, `line ${i}: ${pid} entered while ${String(inside)} held the lock`);
          inside = pid!;
        } else {
          assert.equal(inside, pid, `line ${i}: ${pid} left without holding the lock`);
          inside = null;
        }
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('in one process, a second backend waits for the first (kernel locks are per open file)', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'state.json');
    const a = new LocalBackend({ path: file });
    const b = new LocalBackend({ path: file });
    try {
      await a.lock({ operation: 'a' });
      let bGot = false;
      const bLock = b.lock({ operation: 'b', timeoutMs: 10_000 }).then(() => (bGot = true));
      await sleep(100);
      assert.equal(bGot, false);
      assert.equal((await b.lockInfo())?.operation, 'a');
      await a.unlock();
      await bLock;
      assert.equal((await a.lockInfo())?.operation, 'b');
    } finally {
      await a.unlock();
      await b.unlock();
      fs.rmSync(dir, { recursive: true, force: true });
    }
    assert.equal(await new LocalBackend({ path: file }).lockInfo(), null);
  });
});
