// Disk full, read-only directory and permission denied, on the real filesystem: a small tmpfs for
// ENOSPC, `chattr +i` for a directory nobody may change (tests run as root, which ignores permission
// bits but not the immutable flag), and a child process without the capability to override permissions for EACCES.
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LocalBackend, StateWriteError, tempFilePattern, type StateEntry } from '../../src/state/index.ts';
import { spawnChild } from './spawn-child.ts';

const IN_CI = process.env.CI === 'true';

function entries(n: number, tag: string): StateEntry[] {
  return Array.from({ length: n }, (_, i) => ({
    fqn: `disk/Agent/a${String(i).padStart(5, '0')}`,
    hash: `sha256:${tag}-${i}-${'f'.repeat(64)}`,
    status: 'applied' as const,
    last_applied: '2026-11-27T10:00:00.000Z',
    adapter: 'process',
  }));
}

/** A skip outside CI when the machine cannot do it; in CI a missing capability is a failure. */
function cannot(t: TestContext, what: string, err: unknown): void {
  if (IN_CI) throw new Error(`${what} is required in CI`, { cause: err });
  t.skip(`${what} is not available here: ${String(err)}`);
}

function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of fs.readdirSync(dir).sort()) out[name] = fs.readFileSync(path.join(dir, name), 'utf8');
  return out;
}

/** Two saves so that both the state and its backup exist; returns the backend still locked. */
async function seeded(file: string): Promise<{ b: LocalBackend; serial: number }> {
  const b = new LocalBackend({ path: file });
  await b.lock({ operation: 'test' });
  let s = await b.load({ repair: true });
  s = await b.save(entries(5, 'one'), s.serial);
  s = await b.save(entries(6, 'two'), s.serial);
  return { b, serial: s.serial };
}

describe('state writes when the disk refuses', () => {
  test('disk full (ENOSPC on a 256 KiB tmpfs): save fails naming the path; state and backup byte-identical; no temp left', async (t) => {
    const mnt = fs.mkdtempSync(path.join(os.tmpdir(), 'agentspec-enospc-'));
    try {
      try {
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k,mode=0700', 'tmpfs', mnt], { stdio: 'pipe' });
      } catch (err) {
        cannot(t, 'mounting a tmpfs', err);
        return;
      }
      try {
        const file = path.join(mnt, 'state.json');
        const { b, serial } = await seeded(file);
        try {
          const before = snapshot(mnt);
          // ~250 bytes per entry: 2,000 entries do not fit next to what is already there.
          await assert.rejects(b.save(entries(2000, 'big'), serial), (err: unknown) => {
            assert.ok(err instanceof StateWriteError, String(err));
            assert.equal(err.errno, 'ENOSPC');
            assert.equal(err.path, file);
            assert.match(err.message, new RegExp(file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
            return true;
          });
          assert.deepEqual(snapshot(mnt), before);
          assert.deepEqual(fs.readdirSync(mnt).filter((n) => tempFilePattern(file).test(n)), []);
          // Nothing is lost and the next save that fits goes through.
          const s = await b.save(entries(7, 'three'), serial);
          assert.equal(s.serial, serial + 1);
        } finally {
          await b.unlock();
        }
      } finally {
        execFileSync('umount', [mnt]);
      }
    } finally {
      fs.rmSync(mnt, { recursive: true, force: true });
    }
  });

  test('read-only directory (chattr +i): save fails naming the path; nothing changes; unlock logs instead of throwing', async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agentspec-ro-'));
    const file = path.join(dir, 'state.json');
    const { b, serial } = await seeded(file);
    let immutable = false;
    try {
      try {
        execFileSync('chattr', ['+i', dir], { stdio: 'pipe' });
        immutable = true;
      } catch (err) {
        cannot(t, 'chattr +i', err);
        return;
      }
      const before = snapshot(dir);
      await assert.rejects(b.save(entries(8, 'ro'), serial), (err: unknown) => {
        assert.ok(err instanceof StateWriteError, String(err));
        assert.equal(err.errno, 'EPERM');
        assert.equal(err.path, file);
        return true;
      });
      assert.deepEqual(snapshot(dir), before);
      // The lock file cannot be removed from an immutable directory: logged, not thrown.
      await b.unlock();
    } finally {
      if (immutable) execFileSync('chattr', ['-i', dir]);
      await b.unlock();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('immutable state file (chattr +i): the backup link fails; state, backup and directory unchanged', async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agentspec-immutable-'));
    const file = path.join(dir, 'state.json');
    const { b, serial } = await seeded(file);
    let immutable = false;
    try {
      try {
        execFileSync('chattr', ['+i', file], { stdio: 'pipe' });
        immutable = true;
      } catch (err) {
        cannot(t, 'chattr +i', err);
        return;
      }
      const before = snapshot(dir);
      await assert.rejects(b.save(entries(9, 'x'), serial), StateWriteError);
      assert.deepEqual(snapshot(dir), before);
    } finally {
      if (immutable) execFileSync('chattr', ['-i', file]);
      await b.unlock();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('permission denied (a process without permission override, directory not writable): E_STATE_WRITE naming the path', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agentspec-eacces-'));
    const file = path.join(dir, 'state.json');
    try {
      const { b } = await seeded(file);
      await b.unlock();
      // The lock file stays writable (so the child can lock), but the directory is not.
      fs.writeFileSync(`${file}.lock`, '');
      fs.chmodSync(dir, 0o555);
      const before = snapshot(dir);
      // Root ignores permission bits unless it gives up that capability; an ordinary user is refused as is.
      const c = spawnChild(['try-lock', file, '5000'], {}, { withoutDacOverride: process.getuid?.() === 0 });
      await c.exited;
      const r = JSON.parse(c.lines[0] ?? '{}') as { ok?: boolean; code?: string; message?: string };
      assert.equal(r.ok, false, c.stderr());
      assert.equal(r.code, 'E_STATE_WRITE');
      assert.match(r.message!, /EACCES/);
      assert.match(r.message!, new RegExp(file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
      const after = snapshot(dir);
      delete before['state.json.lock'];
      delete after['state.json.lock'];
      assert.deepEqual(after, before);
    } finally {
      fs.chmodSync(dir, 0o700);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
