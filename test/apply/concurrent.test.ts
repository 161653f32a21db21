// Ten packages applied at once into one state file: the lock serializes them and nothing is lost,
// and a raw reader beside them never sees an invalid or missing state file.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { isAlive } from '../../src/adapters/index.ts';
import { parseState } from '../../src/state/index.ts';
import { freePort } from '../helpers/services.ts';
import { explain, makeWorkspace, runtimesOf } from './support.ts';

const PACKAGES = 10;
const ws = makeWorkspace('agentspec-concurrent-');
after(async () => {
  await ws.cleanup();
});

/**
 * Reads the state file in a loop with no lock and no backup fallback until stopped. Missing is only
 * allowed before the first save ever lands; after that every read must parse.
 */
function rawReader(file: string): { stop: () => Promise<{ reads: number }> } {
  let running = true;
  let reads = 0;
  const loop = (async () => {
    let seen = false;
    while (running) {
      let text: string | undefined;
      try {
        text = readFileSync(file, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        assert.equal(seen, false, `the state file went missing after read ${reads}`);
      }
      if (text !== undefined) {
        seen = true;
        reads++;
        assert.doesNotThrow(() => parseState(text), `read ${reads} saw an invalid state:\n${text}`);
      }
      await sleep(2);
    }
    return { reads };
  })();
  return {
    stop: async () => {
      running = false;
      return loop;
    },
  };
}

test('10 concurrent applies and then 10 concurrent destroys on one state file', async () => {
  const reader = rawReader(ws.stateFile);
  const specs: Array<{ pkg: string; file: string }> = [];
  const ports = new Set<number>();
  while (ports.size < PACKAGES) ports.add(await freePort());
  [...ports].forEach((port, i) => {
    const pkg = `pkg${i}`;
    specs.push({ pkg, file: ws.writeSpec(pkg, port, { agents: 2, skills: 1 }) });
  });

  const applies = await Promise.all(specs.map((s) => ws.cli(['apply', '--auto-approve', '--lock-timeout', '10m', s.file], { timeoutMs: 600_000 })));
  applies.forEach((r, i) => assert.equal(r.code, 0, `apply of ${specs[i]!.pkg}: ${explain(r)}`));

  const state = ws.readState();
  assert.equal(state.entries.length, PACKAGES * 5, 'every resource of every package is tracked');
  for (const { pkg } of specs) {
    const entries = state.entries.filter((e) => e.fqn.startsWith(`${pkg}/`));
    assert.equal(entries.length, 5);
    assert.ok(entries.every((e) => e.status === 'applied'));
    const pid = entries[0]!.runtime!.pid;
    assert.ok(entries.every((e) => e.runtime?.pid === pid));
    assert.deepEqual(runtimesOf(ws.dir, pkg), [pid], `${pkg} has exactly its recorded runtime`);
  }
  const pids = state.entries.map((e) => e.runtime!.pid);

  const destroys = await Promise.all(specs.map((s) => ws.cli(['destroy', '--auto-approve', '--lock-timeout', '10m', s.file], { timeoutMs: 600_000 })));
  destroys.forEach((r, i) => assert.equal(r.code, 0, `destroy of ${specs[i]!.pkg}: ${explain(r)}`));
  assert.deepEqual(ws.readState().entries, []);
  for (const pid of pids) assert.equal(isAlive(pid), false, `runtime ${pid} is gone`);
  for (const { pkg } of specs) assert.deepEqual(runtimesOf(ws.dir, pkg), []);
  const { reads } = await reader.stop();
  assert.ok(reads > 100, `the reader read the state ${reads} times`);
});
