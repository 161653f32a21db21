// A state saved by the original agentspec records applied entries without their runtime: the next
// apply must start and record one, never stop the live runtime and report "No changes".
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { isRuntimeOf, snapshotPath } from '../../src/adapters/index.ts';
import { freePort } from '../helpers/services.ts';
import { explain, makeWorkspace, runtimesOf } from './support.ts';

const ws = makeWorkspace('agentspec-orig-entries-');
after(async () => {
  await ws.cleanup();
});

test('an applied entry without a recorded runtime is planned as an update that starts and records the runtime', async () => {
  const spec = ws.writeSpec('legacy', await freePort());
  const first = await ws.cli(['apply', '--auto-approve', spec]);
  assert.equal(first.code, 0, explain(first));

  // What a save by the original tool leaves: same entries, no runtime field.
  const s = ws.readState();
  writeFileSync(ws.stateFile, JSON.stringify({ ...s, entries: s.entries.map(({ runtime: _dropped, ...e }) => e) }, null, 2));

  const plan = await ws.cli(['plan', '--json', spec]);
  assert.equal(plan.code, 0, explain(plan));
  const summary = (JSON.parse(plan.stdout) as { summary: { update: number } }).summary;
  assert.ok(summary.update > 0, plan.stdout);

  const second = await ws.cli(['apply', '--auto-approve', spec]);
  assert.equal(second.code, 0, explain(second));
  assert.doesNotMatch(second.stdout, /No changes/, explain(second));
  const after = ws.readState();
  assert.ok(after.entries.every((e) => e.status === 'applied' && e.runtime !== undefined && e.runtime.pid > 0), JSON.stringify(after));
  const pid = after.entries[0]!.runtime!.pid;
  assert.ok(isRuntimeOf(pid, snapshotPath(ws.dir, 'legacy')), 'the recorded runtime is alive');
  assert.deepEqual(runtimesOf(ws.dir, 'legacy'), [pid], 'exactly the recorded runtime serves the package');
});
