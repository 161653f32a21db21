// SIGKILL `agentspec apply` at random points: the state is never torn, and the next apply
// converges with no runtime process left that the state does not track.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseState } from '../../src/state/index.ts';
import { CLI } from '../helpers/cli.ts';
import { freePort } from '../helpers/services.ts';
import { explain, makeWorkspace, runtimesOf, TEST_ENV } from './support.ts';

const ITERATIONS = Number(process.env.AGENTSPEC_APPLY_KILL_ITERATIONS ?? (process.env.CI === 'true' ? 100 : 8));
// Converging after every kill is slow; with many iterations check every few, so killed applies
// also meet the leftovers of other killed applies.
const CONVERGE_EVERY = ITERATIONS <= 10 ? 1 : 10;

const ws = makeWorkspace('agentspec-kill-');
after(async () => {
  await ws.cleanup();
});

function stateIsValid(): void {
  let text: string;
  try {
    text = readFileSync(ws.stateFile, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // killed before the first save
    throw err;
  }
  assert.doesNotThrow(() => parseState(text), `state is valid after a kill:\n${text}`);
}

async function killedApply(file: string, delayMs: number): Promise<void> {
  const child = spawn(process.execPath, [CLI, '--log-format', 'json', '--state-file', ws.stateFile, 'apply', '--auto-approve', file], {
    cwd: ws.dir,
    stdio: 'ignore',
    env: { ...process.env, ...TEST_ENV },
  });
  const exited = once(child, 'exit');
  await Promise.race([sleep(delayMs), exited]);
  child.kill('SIGKILL');
  await exited;
}

async function converge(file: string): Promise<void> {
  const r = await ws.cli(['apply', '--auto-approve', file]);
  assert.equal(r.code, 0, explain(r));
  const state = ws.readState();
  assert.ok(state.entries.length > 0);
  assert.ok(state.entries.every((e) => e.status === 'applied'), explain(r));
  const pid = state.entries[0]!.runtime!.pid;
  assert.ok(state.entries.every((e) => e.runtime?.pid === pid));
  assert.deepEqual(runtimesOf(ws.dir, 'crash'), [pid], 'exactly the recorded runtime is running');
}

test(`SIGKILL during apply (${ITERATIONS} times) never corrupts the state and the next apply converges`, async () => {
  const port = await freePort();
  const file = ws.writeSpec('crash', port, { agents: 2 });
  for (let i = 0; i < ITERATIONS; i++) {
    // A different spec each time, so every apply has an update to make (stop, start, save).
    ws.writeSpec('crash', port, { agents: 2, version: `v${i}` });
    await killedApply(file, Math.floor(Math.random() * 3000));
    stateIsValid();
    if ((i + 1) % CONVERGE_EVERY === 0 || i === ITERATIONS - 1) await converge(file);
  }
});
