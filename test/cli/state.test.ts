import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { StateEntry } from '../../src/state/index.ts';
import { jsonLogLines, runCli } from '../helpers/cli.ts';
import { spawnChild } from '../state/spawn-child.ts';
import { saveOnce } from '../helpers/state.ts';

function entry(fqn: string, extra: Partial<StateEntry> = {}): StateEntry {
  return { fqn, hash: `sha256:${fqn}`, status: 'applied', last_applied: '2026-11-27T10:00:00.000Z', adapter: 'process', ...extra };
}

async function withState(fn: (file: string, dir: string) => Promise<void>): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agentspec-cli-state-'));
  try {
    await fn(path.join(dir, 'state.json'), dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('agentspec state', () => {
  test('list, list --json, show and pull print the recorded state', async () => {
    await withState(async (file) => {
      await saveOnce(file, [entry('demo/Agent/b'), entry('demo/Agent/a', { status: 'failed', error: 'boom' })]);
      const list = await runCli(['--state-file', file, 'state', 'list']);
      assert.equal(list.code, 0, list.stderr);
      const rows = list.stdout.trim().split('\n');
      assert.match(rows[0]!, /^FQN\s+STATUS\s+ADAPTER\s+LAST APPLIED$/);
      assert.match(rows[1]!, /^demo\/Agent\/a\s+failed\s+process/);
      assert.match(rows[2]!, /^demo\/Agent\/b\s+applied\s+process/);

      const json = await runCli(['--state-file', file, 'state', 'list', '--json']);
      assert.deepEqual((JSON.parse(json.stdout) as StateEntry[]).map((e) => e.fqn), ['demo/Agent/a', 'demo/Agent/b']);

      const show = await runCli(['--state-file', file, 'state', 'show', 'demo/Agent/a']);
      assert.equal(show.code, 0);
      assert.equal((JSON.parse(show.stdout) as StateEntry).error, 'boom');
      const missing = await runCli(['--state-file', file, 'state', 'show', 'demo/Agent/zzz']);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /No resource demo\/Agent\/zzz/);

      const pull = await runCli(['--state-file', file, 'state', 'pull']);
      assert.equal(pull.code, 0);
      assert.equal(pull.stdout, fs.readFileSync(file, 'utf8'));
    });
  });

  test('lock-info prints "not locked", then the live holder', async () => {
    await withState(async (file) => {
      const free = await runCli(['--state-file', file, 'state', 'lock-info']);
      assert.equal(free.code, 0);
      assert.equal(free.stdout, 'not locked\n');

      const holder = spawnChild(['hold', file, '600000']);
      try {
        const id = (await holder.waitFor(/^locked /)).split(' ')[1]!;
        const held = await runCli(['--state-file', file, 'state', 'lock-info']);
        assert.equal(held.code, 0, held.stderr);
        assert.match(held.stdout, new RegExp(`Lock ID:\\s+${id}`));
        assert.match(held.stdout, new RegExp(`pid ${holder.proc.pid} on `));
        assert.match(held.stdout, /Operation:\s+hold/);
        const asJson = await runCli(['--state-file', file, 'state', 'lock-info', '--json']);
        assert.equal((JSON.parse(asJson.stdout) as { id: string }).id, id);
      } finally {
        holder.proc.kill('SIGKILL');
        await holder.exited;
      }
      // Holder dead: its file is left behind but nobody holds the lock.
      const after = await runCli(['--state-file', file, 'state', 'lock-info']);
      assert.equal(after.stdout, 'not locked\n');
      assert.match(after.stderr, /left behind/);
    });
  });

  test('unlock: needs --auto-approve without a terminal, refuses a live holder without --force, breaks it with --force', async () => {
    await withState(async (file) => {
      const go = `${file}.go`;
      const holder = spawnChild(['hold', file, '0', '', go]);
      try {
        const id = (await holder.waitFor(/^locked /)).split(' ')[1]!;

        const noTty = await runCli(['--state-file', file, 'state', 'unlock', id, '--force']);
        assert.equal(noTty.code, 2, noTty.stderr);
        assert.match(noTty.stderr, /--auto-approve/);

        const live = await runCli(['--state-file', file, 'state', 'unlock', id, '--auto-approve']);
        assert.equal(live.code, 1, live.stderr);
        assert.match(live.stderr, /live process/);
        assert.match(live.stderr, /--force/);

        const wrong = await runCli(['--state-file', file, 'state', 'unlock', 'not-the-id', '--auto-approve', '--force']);
        assert.equal(wrong.code, 1, wrong.stderr);
        assert.match(wrong.stderr, /not the current lock/);

        const forced = await runCli(['--state-file', file, 'state', 'unlock', id, '--force', '--auto-approve']);
        assert.equal(forced.code, 0, forced.stderr);
        assert.match(forced.stdout, new RegExp(`Lock ${id} removed`));
      } finally {
        // Let the holder try its save (and end) whatever happened above.
        fs.writeFileSync(go, '');
      }
      await holder.exited;
      assert.ok(holder.lines.includes('save-error E_STATE_LOCK_LOST'), holder.lines.join('|'));
      assert.equal(fs.existsSync(file), false, 'the broken holder wrote nothing');
      assert.equal(fs.existsSync(`${file}.bak`), false);
    });
  });

  test('unlock of a dead holder\'s lock needs no --force', async () => {
    await withState(async (file) => {
      const holder = spawnChild(['hold', file, '600000']);
      const id = (await holder.waitFor(/^locked /)).split(' ')[1]!;
      holder.proc.kill('SIGKILL');
      await holder.exited;
      const r = await runCli(['--state-file', file, 'state', 'unlock', id, '--auto-approve']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(fs.existsSync(`${file}.lock`), false);
    });
  });

  test('a lock held past --lock-timeout exits 3 naming the holder', async () => {
    await withState(async (file) => {
      await saveOnce(file, [entry('demo/Agent/a')]);
      await saveOnce(file, [entry('demo/Agent/b')]);
      const holder = spawnChild(['hold', file, '600000']);
      try {
        const id = (await holder.waitFor(/^locked /)).split(' ')[1]!;
        const r = await runCli(['--log-format', 'json', '--log-level', 'info', '--state-file', file, 'state', 'recover', '--force', '--auto-approve', '--lock-timeout', '300ms']);
        assert.equal(r.code, 3, r.stderr);
        assert.match(r.stderr, new RegExp(`pid ${holder.proc.pid}`));
        assert.match(r.stderr, new RegExp(`agentspec state unlock ${id}`));
        assert.ok(jsonLogLines(r.stderr).some((l) => l.msg === 'lock timeout' && l.holder_pid === holder.proc.pid));
      } finally {
        holder.proc.kill('SIGKILL');
        await holder.exited;
      }
    });
  });

  test('recover restores the backup under the lock; a bad --lock-timeout is a usage error', async () => {
    await withState(async (file) => {
      await saveOnce(file, [entry('demo/Agent/a')]);
      await saveOnce(file, [entry('demo/Agent/b')]);
      const backup = fs.readFileSync(`${file}.bak`, 'utf8');
      const bad = await runCli(['--state-file', file, 'state', 'recover', '--auto-approve', '--lock-timeout', 'soon']);
      assert.equal(bad.code, 2);
      const current = fs.readFileSync(file, 'utf8');
      // The state is valid: recover shows what it would change and refuses without --force.
      const refused = await runCli(['--state-file', file, 'state', 'recover', '--auto-approve']);
      assert.equal(refused.code, 1, refused.stderr);
      assert.match(refused.stdout, /replaces the state \(serial 2\) with its backup \(serial 1\)/);
      assert.match(refused.stdout, /^ {2}\+ demo\/Agent\/a \(applied\)$/m);
      assert.match(refused.stdout, /^ {2}- demo\/Agent\/b \(applied; no longer recorded\)$/m);
      assert.match(refused.stderr, /is valid \(serial 2, 1 entries\).*--force/);
      assert.equal(fs.readFileSync(file, 'utf8'), current, 'nothing was written');
      const r = await runCli(['--state-file', file, 'state', 'recover', '--force', '--auto-approve']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /serial 1, 1 entries/);
      assert.equal(fs.readFileSync(file, 'utf8'), backup);
    });
  });

  test('a corrupt state is recovered without --force, after the diff', async () => {
    await withState(async (file) => {
      await saveOnce(file, [entry('demo/Agent/a')]);
      await saveOnce(file, [entry('demo/Agent/b')]);
      fs.writeFileSync(file, '{"version": "1.0", "entries": [');
      const r = await runCli(['--state-file', file, 'state', 'recover', '--auto-approve']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /The state is unreadable \(invalid JSON.*\); its backup \(serial 1\) has:/);
      assert.match(r.stdout, /Restored .* \(serial 1, 1 entries\)/);
    });
  });

  test('read-only state subcommands take no --lock-timeout (they never lock)', async () => {
    await withState(async (file) => {
      for (const sub of [['list'], ['show', 'demo/Agent/a'], ['lock-info'], ['pull'], ['unlock', 'some-id']]) {
        const r = await runCli(['--state-file', file, 'state', ...sub, '--lock-timeout', '5s']);
        assert.equal(r.code, 2, `${sub.join(' ')}: ${r.stderr}`);
        assert.match(r.stderr, /unknown option '--lock-timeout'/);
      }
    });
  });

  test('a corrupt state falls back to the backup; both corrupt exits 4', async () => {
    await withState(async (file) => {
      await saveOnce(file, [entry('demo/Agent/a')]);
      await saveOnce(file, [entry('demo/Agent/a'), entry('demo/Agent/b')]);
      fs.writeFileSync(file, '{"version": "1.0", "entries": [');
      const fallback = await runCli(['--log-format', 'json', '--log-level', 'info', '--state-file', file, 'state', 'list', '--json']);
      assert.equal(fallback.code, 0, fallback.stderr);
      assert.equal((JSON.parse(fallback.stdout) as StateEntry[]).length, 1);
      const logs = jsonLogLines(fallback.stderr);
      assert.ok(logs.some((l) => l.msg === 'state corrupted' && l.level === 50));
      assert.ok(logs.some((l) => l.msg === 'backup fallback' && l.level === 50));

      fs.writeFileSync(`${file}.bak`, 'garbage');
      const both = await runCli(['--log-format', 'json', '--log-level', 'info', '--state-file', file, 'state', 'list']);
      assert.equal(both.code, 4);
      assert.match(both.stderr, /Recover by hand/);
      assert.ok(jsonLogLines(both.stderr).some((l) => l.msg === 'backup also corrupted'));
    });
  });
});
