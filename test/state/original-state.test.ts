// States as the original agentspec writes them, and hand-edited states: a file that parses is never
// replaced by its older backup behind the user's back.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LocalBackend, StateSchemaError } from '../../src/state/index.ts';
import { specText } from '../apply/support.ts';
import { runCli } from '../helpers/cli.ts';
import { freePort } from '../helpers/services.ts';

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'agentspec-orig-state-'));
}

const OLD_BACKUP = JSON.stringify({
  version: '1.0',
  serial: 3,
  lineage: 'l-1',
  entries: [{ fqn: 'gone/Agent/a', hash: 'h0', status: 'applied', last_applied: '2026-01-01T00:00:00Z', adapter: 'process' }],
});

function cli(dir: string, file: string, args: string[]): ReturnType<typeof runCli> {
  return runCli(['--state-file', file, ...args], { cwd: dir });
}

describe('states written by the original agentspec or by hand', () => {
  test('valid JSON that fails the schema: exit 4 naming the field and `agentspec state recover`; nothing is overwritten', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'state.json');
    try {
      const bad = JSON.stringify({
        version: '1.0',
        serial: 9,
        lineage: 'l-1',
        entries: [{ fqn: 'p/Agent/a0', hash: 42, status: 'applied', last_applied: 't', adapter: 'process' }],
      });
      fs.writeFileSync(file, bad);
      fs.writeFileSync(`${file}.bak`, OLD_BACKUP);
      const list = await cli(dir, file, ['state', 'list']);
      assert.equal(list.code, 4, list.stderr);
      assert.match(list.stderr, /entries\[0\]\.hash/);
      assert.match(list.stderr, /agentspec state recover/);
      assert.doesNotMatch(list.stderr, /\n\s+at /, 'no stack trace');

      const spec = path.join(dir, 'p.ias');
      fs.writeFileSync(spec, specText('p', await freePort()));
      const ap = await cli(dir, file, ['apply', '--auto-approve', spec]);
      assert.equal(ap.code, 4, ap.stderr);
      assert.match(ap.stderr, /entries\[0\]\.hash/);
      assert.equal(fs.readFileSync(file, 'utf8'), bad, 'the state was not replaced by the backup');
      assert.equal(fs.readFileSync(`${file}.bak`, 'utf8'), OLD_BACKUP);

      const b = new LocalBackend({ path: file });
      await b.lock({ operation: 'test' });
      try {
        await assert.rejects(b.load({ repair: true }), (err: unknown) => err instanceof StateSchemaError && err.exitCode === 4 && err.field === 'entries[0].hash');
      } finally {
        await b.unlock();
      }

      // The way out the message names works.
      const rec = await cli(dir, file, ['state', 'recover', '--auto-approve']);
      assert.equal(rec.code, 0, rec.stderr);
      assert.equal(JSON.parse(fs.readFileSync(file, 'utf8')).serial, 3);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('"entries": null loads as empty and is never swapped for the older backup', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'state.json');
    try {
      const mine = '{"version":"1.0","entries":null}';
      fs.writeFileSync(file, mine);
      fs.writeFileSync(`${file}.bak`, OLD_BACKUP);
      const list = await cli(dir, file, ['state', 'list', '--json']);
      assert.equal(list.code, 0, list.stderr);
      assert.deepEqual(JSON.parse(list.stdout), []);
      const b = new LocalBackend({ path: file });
      await b.lock({ operation: 'test' });
      try {
        const s = await b.load({ repair: true });
        assert.deepEqual(s.entries, []);
        assert.equal(fs.readFileSync(file, 'utf8'), mine, 'no repair happened');
        const saved = await b.save([], s.serial);
        assert.equal(saved.serial, 1);
      } finally {
        await b.unlock();
      }
      assert.equal(fs.readFileSync(`${file}.bak`, 'utf8'), mine, 'the backup now is the file that was there');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('an entry status we do not know (orphaned) is kept and planned as an update, not replaced by the backup', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'state.json');
    try {
      const orphan = { fqn: 'p/Agent/a0', hash: 'sha256:old', status: 'orphaned', last_applied: '2026-11-01T00:00:00Z', adapter: 'process', note: 'kept' };
      const mine = JSON.stringify({ version: '1.0', entries: [orphan] });
      fs.writeFileSync(file, mine);
      fs.writeFileSync(`${file}.bak`, OLD_BACKUP);
      const spec = path.join(dir, 'p.ias');
      fs.writeFileSync(spec, specText('p', await freePort()));
      const plan = await cli(dir, file, ['plan', '--json', spec]);
      assert.equal(plan.code, 0, plan.stderr);
      const actions = (JSON.parse(plan.stdout) as { actions: Array<{ fqn: string; action: string }> }).actions;
      assert.equal(actions.find((a) => a.fqn === 'p/Agent/a0')?.action, 'update', plan.stdout);
      assert.equal(actions.some((a) => a.fqn.startsWith('gone/')), false, 'the backup was not used');

      const b = new LocalBackend({ path: file });
      await b.lock({ operation: 'test' });
      try {
        const s = await b.load({ repair: true });
        assert.deepEqual(s.entries, [orphan]);
        await b.save(s.entries, s.serial);
      } finally {
        await b.unlock();
      }
      const after = JSON.parse(fs.readFileSync(file, 'utf8')) as { entries: unknown[] };
      assert.deepEqual(after.entries, [orphan], 'the unknown status and field survive a save');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
