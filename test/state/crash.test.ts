import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LocalBackend, parseState, serializeState, tempFilePattern } from '../../src/state/index.ts';
import { crashEntries } from './crash-entries.ts';
import { spawnChild } from './spawn-child.ts';

const ITERATIONS = Number(process.env.AGENTSPEC_CRASH_ITERATIONS ?? (process.env.CI === 'true' ? 1000 : 60));
// Parallel lanes (separate directories, separate children) keep the CI count within a few minutes on 2 cores.
const LANES = Math.min(Number(process.env.AGENTSPEC_CRASH_LANES ?? 2), ITERATIONS);

interface LaneResult {
  kills: number;
  killsMidSave: number;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function runLane(iterations: number): Promise<LaneResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agentspec-crash-'));
  const file = path.join(dir, 'state.json');
  let lastOnDisk = 0;
  let killsMidSave = 0;
  try {
    for (let i = 0; i < iterations; i++) {
      const child = spawnChild(['crash-loop', file]);
      const ready = await child.waitFor(/^ready \d+$/);
      // What the child found on start is exactly what we verified after the previous kill.
      assert.equal(Number(ready.split(' ')[1]), lastOnDisk, `iteration ${i}: child started from another serial`);
      await sleep(Math.random() * 60);
      child.proc.kill('SIGKILL');
      const exit = await child.exited;
      assert.equal(exit.signal, 'SIGKILL', `iteration ${i}: child ended by itself: ${child.stderr()}`);

      const done = Math.max(lastOnDisk, ...child.lines.filter((l) => l.startsWith('done ')).map((l) => Number(l.slice(5))));
      const started = child.lines.filter((l) => l.startsWith('start ')).map((l) => Number(l.slice(6)));
      const inFlight = started.length > 0 && started[started.length - 1]! > done ? started[started.length - 1]! : null;
      if (inFlight !== null) killsMidSave++;

      if (!fs.existsSync(file)) {
        // Killed before the very first save finished: there is nothing yet, and nothing was lost.
        assert.equal(done, 0, `iteration ${i}: state file missing after save ${done} completed`);
        continue;
      }
      // Read the file strictly (no backup fallback): any torn or invalid file fails here.
      const text = fs.readFileSync(file, 'utf8');
      const { state } = parseState(text);
      assert.ok(
        state.serial === done || state.serial === inFlight,
        `iteration ${i}: state has serial ${state.serial}; last completed save ${done}, in flight ${String(inFlight)}`,
      );
      assert.equal(text, serializeState({ ...state, entries: crashEntries(state.serial) }), `iteration ${i}: content is not the save of serial ${state.serial}`);
      if (state.serial > 1) {
        const bak = parseState(fs.readFileSync(`${file}.bak`, 'utf8')).state;
        // Equal only when the kill fell between keeping the backup and renaming the new state in.
        assert.ok(bak.serial <= state.serial, `iteration ${i}: backup serial ${bak.serial} is newer than ${state.serial}`);
        assert.equal(bak.lineage, state.lineage);
      }
      lastOnDisk = state.serial;
    }

    // The next save under the lock cleans up whatever temp files the kills left behind.
    const b = new LocalBackend({ path: file });
    await b.lock({ operation: 'verify', timeoutMs: 10_000 });
    const s = await b.load({ repair: true });
    assert.equal(s.serial, lastOnDisk);
    await b.save(crashEntries(s.serial + 1), s.serial);
    await b.unlock();
    const leftovers = fs.readdirSync(dir).filter((n) => tempFilePattern(file).test(n));
    assert.deepEqual(leftovers, []);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['state.json', 'state.json.bak']);
    return { kills: iterations, killsMidSave };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test(`SIGKILL at random moments during saves (${ITERATIONS} kills): the state is always the last or the in-flight save`, { timeout: 30 * 60_000 }, async (t) => {
  const perLane = Array.from({ length: LANES }, (_, i) => Math.floor(ITERATIONS / LANES) + (i < ITERATIONS % LANES ? 1 : 0));
  const results = await Promise.all(perLane.map((n) => runLane(n)));
  const kills = results.reduce((a, r) => a + r.kills, 0);
  const midSave = results.reduce((a, r) => a + r.killsMidSave, 0);
  t.diagnostic(`kills: ${kills}, of which during a save: ${midSave}`);
  assert.equal(kills, ITERATIONS);
  // The children save back to back, so nearly every kill lands inside a save; if none did, the test proved nothing.
  if (ITERATIONS >= 20) assert.ok(midSave > ITERATIONS / 2, `only ${midSave} of ${ITERATIONS} kills hit a save in flight`);
});
