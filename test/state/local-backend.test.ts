import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  LocalBackend,
  StateInvalidEntriesError,
  StateLineageMismatchError,
  StateNotLockedError,
  StateSerialMismatchError,
  StateVersionError,
  openBackend,
  type StateEntry,
} from '../../src/state/index.ts';
import { logLines, spawnChild } from './spawn-child.ts';
import { saveOnce } from '../helpers/state.ts';

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'agentspec-state-'));
}

function entry(fqn: string, extra: Partial<StateEntry> = {}): StateEntry {
  return { fqn, hash: `sha256:${fqn}`, status: 'applied', last_applied: '2026-11-27T10:00:00.000Z', adapter: 'process', ...extra };
}

interface LoadResult {
  ok: boolean;
  serial?: number;
  entries?: number;
  code?: string;
  exitCode?: number;
  backupUsed?: boolean;
  message?: string;
}

async function loadInChild(file: string, repair: boolean): Promise<{ result: LoadResult; logs: Array<Record<string, unknown>> }> {
  const c = spawnChild(['load', file, ...(repair ? ['repair'] : [])]);
  const exit = await c.exited;
  assert.equal(exit.code, 0, c.stderr());
  return { result: JSON.parse(c.lines[0]!) as LoadResult, logs: logLines(c.stderr()) };
}

describe('local state backend', () => {
  test('fresh start: empty state; first save creates a 0600 file with sorted entries, 2-space JSON and a trailing newline', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'state.json');
    try {
      const b = openBackend({ stateFile: file });
      const empty = await b.load();
      assert.equal(empty.serial, 0);
      assert.deepEqual(empty.entries, []);
      assert.equal(fs.existsSync(file), false, 'a read-only load writes nothing');

      await b.lock({ operation: 'test' });
      const s = await b.load({ repair: true });
      const saved = await b.save([entry('b/Agent/two'), entry('a/Agent/one', { status: 'failed', error: 'boom' })], s.serial);
      await b.unlock();
      assert.equal(saved.serial, 1);
      assert.equal(fs.statSync(file).mode & 0o777, 0o600);
      const text = fs.readFileSync(file, 'utf8');
      assert.ok(text.endsWith('}\n'));
      const doc = JSON.parse(text) as { version: string; serial: number; lineage: string; entries: StateEntry[] };
      assert.equal(text, `${JSON.stringify(doc, null, 2)}\n`);
      assert.deepEqual(Object.keys(doc), ['version', 'serial', 'lineage', 'entries']);
      assert.deepEqual(doc.entries.map((e) => e.fqn), ['a/Agent/one', 'b/Agent/two']);
      assert.equal(doc.lineage, saved.lineage);
      assert.equal(fs.existsSync(`${file}.lock`), false, 'unlock removed the lock file');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the same state is the same bytes whatever order entries and their keys come in', async () => {
    const dir = tempDir();
    try {
      const a = path.join(dir, 'a.json');
      const b = path.join(dir, 'b.json');
      await saveOnce(a, [entry('x/Agent/1'), entry('x/Agent/2', { runtime: { pid: 1, port: 2, endpoint: 'e', started_at: 's' } })]);
      await saveOnce(b, [
        { runtime: { started_at: 's', endpoint: 'e', port: 2, pid: 1 }, adapter: 'process', last_applied: '2026-11-27T10:00:00.000Z', status: 'applied', hash: 'sha256:x/Agent/2', fqn: 'x/Agent/2' },
        entry('x/Agent/1'),
      ]);
      const strip = (t: string): string => t.replace(/"lineage": "[^"]+"/, '');
      assert.equal(strip(fs.readFileSync(a, 'utf8')), strip(fs.readFileSync(b, 'utf8')));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('serial grows by one per save; a save from a stale base serial is refused (lost update)', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'state.json');
    try {
      const slow = new LocalBackend({ path: file });
      await slow.lock({ operation: 'slow' });
      const base = await slow.load({ repair: true });
      const s1 = await slow.save([entry('a/Agent/1')], base.serial);
      await slow.unlock();
      assert.equal(s1.serial, 1);

      await saveOnce(file, [entry('a/Agent/1'), entry('a/Agent/2')]);
      const before = fs.readFileSync(file, 'utf8');

      // `slow` still believes serial 1 is current: its save must not clobber serial 2.
      await slow.lock({ operation: 'slow' });
      await assert.rejects(slow.save([entry('a/Agent/3')], s1.serial), (err: unknown) => {
        assert.ok(err instanceof StateSerialMismatchError);
        assert.equal(err.expected, 1);
        assert.equal(err.actual, 2);
        return true;
      });
      await slow.unlock();
      assert.equal(fs.readFileSync(file, 'utf8'), before);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a state with another lineage is never overwritten', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'state.json');
    try {
      const b = new LocalBackend({ path: file });
      await b.lock({ operation: 'test' });
      const s = await b.save([entry('a/Agent/1')], (await b.load({ repair: true })).serial);
      const foreign = { version: '1.0', serial: s.serial, lineage: 'some-other-lineage', entries: [] };
      fs.writeFileSync(file, `${JSON.stringify(foreign, null, 2)}\n`);
      await assert.rejects(b.save([entry('a/Agent/2')], s.serial), StateLineageMismatchError);
      await b.unlock();
      assert.equal((JSON.parse(fs.readFileSync(file, 'utf8')) as { lineage: string }).lineage, 'some-other-lineage');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the existing file mode is kept; the backup is the previous state', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'state.json');
    try {
      await saveOnce(file, [entry('a/Agent/1')]);
      fs.chmodSync(file, 0o640);
      const previous = fs.readFileSync(file, 'utf8');
      await saveOnce(file, [entry('a/Agent/2')]);
      assert.equal(fs.statSync(file).mode & 0o777, 0o640);
      assert.equal(fs.readFileSync(`${file}.bak`, 'utf8'), previous);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a state file from the original implementation is read and upgraded on the next save', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'state.json');
    try {
      const original = {
        version: '1.0',
        entries: [
          { fqn: 'basic/Agent/helper', hash: 'sha256:abc', status: 'applied', last_applied: '2026-01-01T00:00:00Z', adapter: 'process' },
          { fqn: 'basic/Agent/broken', hash: 'sha256:def', status: 'failed', last_applied: '2026-01-01T00:00:00Z', adapter: 'process', error: 'exit 1' },
        ],
      };
      fs.writeFileSync(file, JSON.stringify(original));
      const b = new LocalBackend({ path: file });
      const ro = await b.load();
      assert.equal(ro.serial, 0);
      assert.deepEqual(ro.entries.map((e) => e.fqn), ['basic/Agent/broken', 'basic/Agent/helper']);
      assert.equal(ro.entries[0]!.error, 'exit 1');

      await b.lock({ operation: 'upgrade' });
      const s = await b.load({ repair: true });
      const saved = await b.save(s.entries, s.serial);
      await b.unlock();
      const doc = JSON.parse(fs.readFileSync(file, 'utf8')) as { serial: number; lineage: string; entries: unknown[] };
      assert.equal(doc.serial, 1);
      assert.equal(doc.lineage, saved.lineage);
      assert.equal(doc.entries.length, 2);
      assert.equal(fs.readFileSync(`${file}.bak`, 'utf8'), JSON.stringify(original), 'the original file is kept as the backup');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('unknown fields in entries are tolerated and kept through a save', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'state.json');
    try {
      const newer = { version: '1.0', serial: 3, lineage: 'l-1', entries: [{ ...entry('a/Agent/1'), future_field: { x: 1 } }] };
      fs.writeFileSync(file, `${JSON.stringify(newer, null, 2)}\n`);
      const b = new LocalBackend({ path: file });
      await b.lock({ operation: 'test' });
      const s = await b.load({ repair: true });
      assert.equal(s.serial, 3);
      await b.save(s.entries, s.serial);
      await b.unlock();
      const doc = JSON.parse(fs.readFileSync(file, 'utf8')) as { entries: Array<Record<string, unknown>> };
      assert.deepEqual(doc.entries[0]!.future_field, { x: 1 });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a newer major format is refused, not treated as corruption', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'state.json');
    try {
      fs.writeFileSync(file, JSON.stringify({ version: '2.0', serial: 1, lineage: 'x', entries: [] }));
      await assert.rejects(new LocalBackend({ path: file }).load(), StateVersionError);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('save and repair need the lock; invalid or duplicate entries are refused before writing', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'state.json');
    try {
      const b = new LocalBackend({ path: file });
      await assert.rejects(b.save([], 0), StateNotLockedError);
      await assert.rejects(b.load({ repair: true }), StateNotLockedError);
      await b.lock({ operation: 'test' });
      const s = await b.load({ repair: true });
      await assert.rejects(b.save([entry('a/Agent/1'), entry('a/Agent/1')], s.serial), StateInvalidEntriesError);
      await assert.rejects(b.save([{ ...entry('a/Agent/1'), status: '' }], s.serial), StateInvalidEntriesError);
      await b.unlock();
      assert.deepEqual(fs.readdirSync(dir), []);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('state deleted while running: the next save creates it', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'state.json');
    try {
      const b = new LocalBackend({ path: file });
      await b.lock({ operation: 'test' });
      let s = await b.load({ repair: true });
      s = await b.save([entry('a/Agent/1')], s.serial);
      s = await b.save([entry('a/Agent/2')], s.serial);
      fs.rmSync(file);
      const recreated = await b.save([entry('a/Agent/3')], s.serial);
      await b.unlock();
      assert.equal(recreated.serial, 3);
      const doc = JSON.parse(fs.readFileSync(file, 'utf8')) as { serial: number; entries: StateEntry[] };
      assert.equal(doc.serial, 3);
      assert.deepEqual(doc.entries.map((e) => e.fqn), ['a/Agent/3']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a kill between the two renames (backup and state are one file) and leftover temp files: the next save cleans up', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'state.json');
    try {
      await saveOnce(file, [entry('a/Agent/1')]);
      await saveOnce(file, [entry('a/Agent/2')]);
      // What a writer killed right after keeping the backup leaves: .bak is a link to the current file,
      // plus its new-content temp and a backup-link temp.
      fs.rmSync(`${file}.bak`);
      fs.linkSync(file, `${file}.bak`);
      fs.writeFileSync(path.join(dir, '.state.json.0123456789abcdef.tmp'), '{"half":');
      fs.linkSync(file, path.join(dir, '.state.json.bak.fedcba9876543210.tmp'));
      const current = fs.readFileSync(file, 'utf8');
      await saveOnce(file, [entry('a/Agent/3')]);
      assert.deepEqual(fs.readdirSync(dir).sort(), ['state.json', 'state.json.bak']);
      assert.equal(fs.readFileSync(`${file}.bak`, 'utf8'), current);
      assert.equal((JSON.parse(fs.readFileSync(file, 'utf8')) as { serial: number }).serial, 3);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('corruption and recovery (logs checked in a child process)', () => {
    const damages: Array<[string, (text: string) => string]> = [
      ['truncated', (t) => t.slice(0, Math.floor(t.length / 2))],
      ['garbage', () => '\u0000\u0001garbage{{{'],
      ['empty', () => ''],
    ];
    for (const [name, damage] of damages) {
      test(`${name} state: a read-only load returns the backup without writing; a locked load restores it`, async () => {
        const dir = tempDir();
        const file = path.join(dir, 'state.json');
        try {
          await saveOnce(file, [entry('a/Agent/1')]);
          await saveOnce(file, [entry('a/Agent/1'), entry('a/Agent/2')]);
          const backup = fs.readFileSync(`${file}.bak`, 'utf8');
          const bad = damage(fs.readFileSync(file, 'utf8'));
          fs.writeFileSync(file, bad);

          const ro = await loadInChild(file, false);
          assert.equal(ro.result.ok, true);
          assert.equal(ro.result.serial, 1);
          assert.equal(ro.result.entries, 1);
          assert.equal(fs.readFileSync(file, 'utf8'), bad, 'a read-only load never writes');
          const corrupted = ro.logs.find((l) => l.msg === 'state corrupted');
          assert.equal(corrupted?.level, 50);
          assert.equal(corrupted?.path, file);
          assert.equal(typeof corrupted?.error, 'string');
          const fallback = ro.logs.find((l) => l.msg === 'backup fallback');
          assert.equal(fallback?.level, 50);
          assert.equal(fallback?.backup_path, `${file}.bak`);

          const rw = await loadInChild(file, true);
          assert.equal(rw.result.ok, true);
          assert.equal(rw.result.serial, 1);
          assert.equal(fs.readFileSync(file, 'utf8'), backup, 'restored from the backup');
          assert.equal(fs.readFileSync(`${file}.bak`, 'utf8'), backup, 'the backup is kept');
          const msgs = rw.logs.map((l) => l.msg);
          assert.ok(msgs.indexOf('state corrupted') < msgs.indexOf('backup fallback'));
          assert.ok(msgs.indexOf('backup fallback') < msgs.indexOf('state restored from backup'));
          assert.equal(rw.logs.find((l) => l.msg === 'state restored from backup')?.level, 40);
        } finally {
          fs.rmSync(dir, { recursive: true, force: true });
        }
      });
    }

    test('state and backup both corrupt: StateCorruptedError (exit code 4), nothing written', async () => {
      const dir = tempDir();
      const file = path.join(dir, 'state.json');
      try {
        fs.writeFileSync(file, '{"version":');
        fs.writeFileSync(`${file}.bak`, '[]');
        for (const repair of [false, true]) {
          const r = await loadInChild(file, repair);
          assert.equal(r.result.ok, false);
          assert.equal(r.result.code, 'E_STATE_CORRUPTED');
          assert.equal(r.result.exitCode, 4);
          assert.equal(r.result.backupUsed, true);
          assert.match(r.result.message!, /Recover by hand/);
          assert.ok(r.logs.some((l) => l.msg === 'backup also corrupted' && l.level === 50));
          assert.equal(fs.readFileSync(file, 'utf8'), '{"version":');
          assert.equal(fs.readFileSync(`${file}.bak`, 'utf8'), '[]');
        }
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    test('state corrupt and no backup: StateCorruptedError with backupUsed false', async () => {
      const dir = tempDir();
      const file = path.join(dir, 'state.json');
      try {
        fs.writeFileSync(file, 'not json');
        const r = await loadInChild(file, false);
        assert.equal(r.result.code, 'E_STATE_CORRUPTED');
        assert.equal(r.result.backupUsed, false);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    test('state missing but backup valid: restored under the lock', async () => {
      const dir = tempDir();
      const file = path.join(dir, 'state.json');
      try {
        await saveOnce(file, [entry('a/Agent/1')]);
        await saveOnce(file, [entry('a/Agent/2')]);
        fs.rmSync(file);
        const r = await loadInChild(file, true);
        assert.equal(r.result.ok, true);
        assert.equal(r.result.serial, 1);
        assert.equal(fs.readFileSync(file, 'utf8'), fs.readFileSync(`${file}.bak`, 'utf8'));
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
