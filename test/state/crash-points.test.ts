// SIGKILL at each critical point of a save, each one proven hit (the child says which point it
// reached, then kills itself there): the state is always a complete earlier or newer save, and the
// backup holds exactly the bytes of the previous state (serial - 1) or of the state itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CrashPoint } from '../../src/state/durable-write.ts';
import { parseState, tempFilePattern } from '../../src/state/index.ts';
import { saveOnce } from '../helpers/state.ts';
import { spawnChild } from './spawn-child.ts';

function entry(fqn: string): { fqn: string; hash: string; status: 'applied'; last_applied: string; adapter: string } {
  return { fqn, hash: `sha256:${fqn}`, status: 'applied', last_applied: '2026-11-27T10:00:00.000Z', adapter: 'process' };
}

const POINTS: Array<[CrashPoint, 'old' | 'new', 'previous' | 'same']> = [
  // [point, which save the state file holds afterwards, what the backup holds relative to it]
  ['after-link', 'old', 'previous'],
  ['after-backup-rename', 'old', 'same'],
  ['after-state-rename', 'new', 'previous'],
];

for (const [point, stateIs, backupIs] of POINTS) {
  test(`SIGKILL ${point}: state is the ${stateIs} save, backup is the ${backupIs === 'same' ? 'state itself' : 'save before it'}`, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agentspec-crashpt-'));
    try {
      const file = path.join(dir, 'state.json');
      await saveOnce(file, [entry('a/Agent/one')]);
      const serial1 = fs.readFileSync(file, 'utf8');
      await saveOnce(file, [entry('a/Agent/one'), entry('a/Agent/two')]);
      const serial2 = fs.readFileSync(file, 'utf8');

      const child = spawnChild(['add', file, 'crash', '1'], { AGENTSPEC_TEST_CRASH_POINT: point });
      const exit = await child.exited;
      assert.equal(exit.signal, 'SIGKILL', `the child was not killed: ${child.stderr()}`);
      assert.match(child.stderr(), new RegExp(`crash point ${point}`), 'the crash point was reached');

      const text = fs.readFileSync(file, 'utf8');
      const state = parseState(text).state;
      const bak = fs.readFileSync(`${file}.bak`, 'utf8');
      const bakState = parseState(bak).state;
      if (stateIs === 'old') {
        assert.equal(text, serial2, 'the state is exactly the last completed save');
      } else {
        assert.equal(state.serial, 3);
        assert.ok(state.entries.some((e) => e.fqn === 'crash/Agent/e0'), 'the new save is complete');
      }
      if (backupIs === 'same') {
        assert.equal(bakState.serial, state.serial);
        assert.equal(bak, text, 'the backup is byte-identical to the state');
      } else {
        assert.equal(bakState.serial, state.serial - 1);
        assert.equal(bak, state.serial === 3 ? serial2 : serial1, 'the backup is byte-identical to the save before');
      }

      // The next save under the lock goes on from what is there and removes the killed save's temps.
      await saveOnce(file, [...state.entries, entry('a/Agent/after')]);
      const next = parseState(fs.readFileSync(file, 'utf8')).state;
      assert.equal(next.serial, state.serial + 1);
      assert.equal(fs.readFileSync(`${file}.bak`, 'utf8'), text);
      assert.deepEqual(fs.readdirSync(dir).filter((n) => tempFilePattern(file).test(n)), []);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}
