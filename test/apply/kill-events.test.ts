// SIGKILL `agentspec apply` right at the log events that open its critical windows (lock acquired,
// the intent save, the runtime spawned), not at random times. After each kill every live runtime
// must be known to the state or its pid file, and the next apply converges; one run does so with
// the process-table scan disabled, so the records alone must find what the killed apply left.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { pidPath } from '../../src/adapters/index.ts';
import { parseState } from '../../src/state/index.ts';
import { freePort } from '../helpers/services.ts';
import { applyWatching, explain, makeWorkspace, runtimesOf, type Workspace } from './support.ts';

const spaces: Workspace[] = [];
after(async () => {
  for (const ws of spaces) await ws.cleanup();
});

type Event = { name: string; matches: (rec: Record<string, unknown>) => boolean };
const EVENTS: Event[] = [
  { name: 'lock acquired', matches: (r) => r.msg === 'lock acquired' },
  { name: 'intent saved', matches: (r) => r.msg === 'state saved' && r.why === 'intent' },
  { name: 'runtime process started', matches: (r) => r.msg === 'runtime process started' },
];

function recordedPids(ws: Workspace): Set<number> {
  let text: string;
  try {
    text = readFileSync(ws.stateFile, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Set();
    throw err;
  }
  const pids = new Set(parseState(text).state.entries.flatMap((e) => (e.runtime !== undefined && e.runtime.pid > 0 ? [e.runtime.pid] : [])));
  try {
    pids.add(Number(readFileSync(pidPath(ws.dir, 'victim'), 'utf8').trim()));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return pids;
}

async function killAt(ws: Workspace, spec: string, event: Event): Promise<void> {
  let hit = false;
  const r = await applyWatching(
    ws,
    [spec],
    (rec, pid) => {
      if (hit || !event.matches(rec)) return;
      hit = true;
      process.kill(pid, 'SIGKILL');
    },
    { logLevel: 'debug' },
  );
  assert.ok(hit, `the event "${event.name}" was never logged: ${explain(r)}`);
  assert.equal(r.signal, 'SIGKILL', explain(r));
}

async function converge(ws: Workspace, spec: string, env: NodeJS.ProcessEnv = {}): Promise<void> {
  const r = await ws.cli(['apply', '--auto-approve', spec], { env });
  assert.equal(r.code, 0, explain(r));
  const s = ws.readState();
  assert.ok(s.entries.every((e) => e.status === 'applied'), explain(r));
  assert.deepEqual(runtimesOf(ws.dir, 'victim'), [s.entries[0]!.runtime!.pid], 'exactly the recorded runtime is running');
}

test('SIGKILL at each critical log event leaves no unrecorded runtime, and the next apply converges', async () => {
  const ws = makeWorkspace('agentspec-killev-');
  spaces.push(ws);
  const port = await freePort();
  const spec = ws.writeSpec('victim', port);
  await converge(ws, spec);
  let version = 0;
  for (const event of EVENTS) {
    ws.writeSpec('victim', port, { version: `v${++version}` });
    await killAt(ws, spec, event);
    const known = recordedPids(ws);
    for (const pid of runtimesOf(ws.dir, 'victim')) {
      assert.ok(known.has(pid), `after a kill at "${event.name}", runtime ${pid} is in neither the state nor the pid file`);
    }
    // The kill that leaves a fresh runtime behind is recovered without the process-table scan:
    // the intent record and the pid file alone must lead the next apply to it.
    await converge(ws, spec, event.name === 'runtime process started' ? { AGENTSPEC_PROCESS_SCAN: 'off' } : {});
  }
});
