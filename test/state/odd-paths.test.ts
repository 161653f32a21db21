// Files that are not what they seem at the state, backup and lock paths: FIFOs, directories, devices,
// symlinks, and a disk that fills up while the lock info is written. Each must fail at once with the
// path named (or, for a symlink, be followed on purpose), never hang or silently fork the state.
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LocalBackend, StateLockPathError, StatePathError, StateWriteError, type StateEntry } from '../../src/state/index.ts';
import { specText } from '../apply/support.ts';
import { runCli } from '../helpers/cli.ts';
import { freePort } from '../helpers/services.ts';

const IN_CI = process.env.CI === 'true';

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'agentspec-odd-'));
}

function entry(fqn: string): StateEntry {
  return { fqn, hash: `sha256:${fqn}`, status: 'applied', last_applied: '2026-11-27T10:00:00.000Z', adapter: 'process' };
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

type Maker = (p: string) => void;
const KINDS: Array<[string, Maker]> = [
  ['FIFO', (p) => execFileSync('mkfifo', [p])],
  ['directory', (p) => fs.mkdirSync(p)],
  // Same major/minor as /dev/null: a character device whose reads never block.
  ['device', (p) => execFileSync('mknod', [p, 'c', '1', '3'])],
];

function cli(dir: string, file: string, args: string[]): ReturnType<typeof runCli> {
  // A hang is the failure these tests look for: a short timeout turns it into a SIGKILL.
  return runCli(['--state-file', file, ...args], { cwd: dir, timeoutMs: 20_000 });
}

describe('odd files at the state paths', () => {
  for (const [kind, make] of KINDS) {
    test(`a ${kind} at the state path: state list and apply fail at once naming it, and the lock is released`, async () => {
      const dir = tempDir();
      const file = path.join(dir, 'state.json');
      try {
        make(file);
        const list = await cli(dir, file, ['state', 'list']);
        assert.equal(list.signal, null, `state list hung: ${list.stderr}`);
        assert.equal(list.code, 1, list.stderr);
        assert.match(list.stderr, new RegExp(`${escape(file)}: it is (a FIFO|a directory|a device)`));
        const spec = path.join(dir, 'p.ias');
        fs.writeFileSync(spec, specText('p', await freePort()));
        const ap = await cli(dir, file, ['apply', '--auto-approve', spec]);
        assert.equal(ap.signal, null, `apply hung: ${ap.stderr}`);
        assert.equal(ap.code, 1, ap.stderr);
        assert.match(ap.stderr, new RegExp(escape(file)));
        assert.equal(fs.existsSync(`${file}.lock`), false, 'the lock was released');
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    test(`a ${kind} at the backup path: a load that needs the backup and a save both refuse it`, async () => {
      const dir = tempDir();
      const file = path.join(dir, 'state.json');
      try {
        make(`${file}.bak`);
        const list = await cli(dir, file, ['state', 'list']);
        assert.equal(list.signal, null, 'state list hung');
        assert.equal(list.code, 1, list.stderr);
        assert.match(list.stderr, new RegExp(escape(`${file}.bak`)));

        const b = new LocalBackend({ path: file });
        await b.lock({ operation: 'test' });
        try {
          fs.writeFileSync(file, '{"version":"1.0","serial":1,"lineage":"l","entries":[]}\n');
          const s = await b.load({ repair: true });
          await assert.rejects(b.save([entry('a/Agent/x')], s.serial), (err: unknown) => err instanceof StatePathError && err.path === `${file}.bak`);
        } finally {
          await b.unlock();
        }
        assert.equal(fs.lstatSync(`${file}.bak`).isFile(), false, 'the odd file was not replaced');
        assert.equal(JSON.parse(fs.readFileSync(file, 'utf8')).serial, 1, 'the state is unchanged');
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    test(`a ${kind} at the lock path: taking the lock fails at once with StateLockPathError`, async () => {
      const dir = tempDir();
      const file = path.join(dir, 'state.json');
      try {
        make(`${file}.lock`);
        await assert.rejects(new LocalBackend({ path: file }).lock({ operation: 'test', timeoutMs: 5_000 }), (err: unknown) => {
          assert.ok(err instanceof StateLockPathError, String(err));
          assert.match(err.message, new RegExp(`${escape(`${file}.lock`)}: it is (a FIFO|a directory|a device)`));
          return true;
        });
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

describe('a symlinked state file', () => {
  test('is followed on purpose: saves land in the target, the backup and lock sit beside it, the link stays', async () => {
    const dir = tempDir();
    try {
      fs.mkdirSync(path.join(dir, 'real'));
      const target = path.join(dir, 'real', 'state.json');
      const link = path.join(dir, 'state.json');
      fs.writeFileSync(target, '{"version":"1.0","serial":4,"lineage":"l","entries":[]}\n');
      fs.symlinkSync(path.join('real', 'state.json'), link);
      for (let i = 0; i < 2; i++) {
        const b = new LocalBackend({ path: link });
        await b.lock({ operation: 'test' });
        try {
          const s = await b.load({ repair: true });
          await b.save([entry(`a/Agent/${i}`)], s.serial);
        } finally {
          await b.unlock();
        }
      }
      assert.equal(fs.lstatSync(link).isSymbolicLink(), true, 'the link is still a link');
      assert.equal(JSON.parse(fs.readFileSync(target, 'utf8')).serial, 6);
      assert.equal(JSON.parse(fs.readFileSync(`${target}.bak`, 'utf8')).serial, 5);
      assert.deepEqual(fs.readdirSync(dir).sort(), ['real', 'state.json'], 'nothing was written beside the link');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a dangling link is refused with the link named', () => {
    const dir = tempDir();
    try {
      const link = path.join(dir, 'state.json');
      fs.symlinkSync(path.join(dir, 'nowhere', 'state.json'), link);
      assert.throws(() => new LocalBackend({ path: link }), (err: unknown) => err instanceof StatePathError && err.path === link);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

function cannot(t: TestContext, what: string, err: unknown): void {
  if (IN_CI) throw new Error(`${what} is required in CI`, { cause: err });
  t.skip(`${what} is not available here: ${String(err)}`);
}

test('disk full while writing the lock info: StateWriteError naming the lock path; the CLI shows no stack trace', async (t) => {
  const mnt = fs.mkdtempSync(path.join(os.tmpdir(), 'agentspec-lockfull-'));
  try {
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0700', 'tmpfs', mnt], { stdio: 'pipe' });
    } catch (err) {
      cannot(t, 'mounting a tmpfs', err);
      return;
    }
    try {
      const file = path.join(mnt, 'state.json');
      try {
        fs.writeFileSync(path.join(mnt, 'filler'), Buffer.alloc(128 * 1024));
      } catch (err) {
        assert.equal((err as NodeJS.ErrnoException).code, 'ENOSPC');
      }
      await assert.rejects(new LocalBackend({ path: file }).lock({ operation: 'test', timeoutMs: 1_000 }), (err: unknown) => {
        assert.ok(err instanceof StateWriteError, String(err));
        assert.equal(err.path, `${file}.lock`);
        assert.equal(err.errno, 'ENOSPC');
        return true;
      });
      const spec = path.join(os.tmpdir(), `agentspec-lockfull-${process.pid}.ias`);
      fs.writeFileSync(spec, specText('p', await freePort()));
      try {
        const r = await runCli(['--state-file', file, 'apply', '--auto-approve', spec], { timeoutMs: 60_000 });
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stderr, new RegExp(`${escape(`${file}.lock`)}.*ENOSPC|ENOSPC.*${escape(`${file}.lock`)}`));
        assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
      } finally {
        fs.rmSync(spec, { force: true });
      }
    } finally {
      execFileSync('umount', [mnt]);
    }
  } finally {
    fs.rmSync(mnt, { recursive: true, force: true });
  }
});
