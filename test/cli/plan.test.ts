import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { freePort } from '../helpers/services.ts';
import { explain, makeWorkspace, specText } from '../apply/support.ts';

const ws = makeWorkspace('agentspec-plan-');
after(async () => {
  await ws.cleanup();
});

test('plan lists the actions, never writes, and its exit codes follow --detailed-exitcode', async () => {
  const file = ws.writeSpec('planned', await freePort(), { agents: 2 });
  const text = await ws.cli(['plan', file]);
  assert.equal(text.code, 0, explain(text));
  assert.match(text.stdout, /\+ planned\/Agent\/a0/);
  assert.match(text.stdout, /\+ planned\/Prompt\/p1/);
  assert.match(text.stdout, /Plan: 4 to create, 0 to update, 0 to delete, 0 unchanged\./);
  assert.equal(existsSync(ws.stateFile), false, 'plan never writes the state');
  assert.equal(existsSync(`${ws.stateFile}.lock`), false, 'plan never takes the lock');

  const detailed = await ws.cli(['plan', '--detailed-exitcode', file]);
  assert.equal(detailed.code, 2);

  const json = await ws.cli(['plan', '--json', file]);
  const plan = JSON.parse(json.stdout) as { changes: boolean; summary: Record<string, number>; actions: Array<{ action: string; fqn: string }> };
  assert.equal(plan.changes, true);
  assert.deepEqual(plan.summary, { create: 4, update: 0, delete: 0, noop: 0 });
  assert.deepEqual(
    plan.actions.map((a) => a.fqn),
    ['planned/Agent/a0', 'planned/Agent/a1', 'planned/Prompt/p0', 'planned/Prompt/p1'],
  );
});

test('plan and apply only touch the packages they are given', async () => {
  const a = ws.writeSpec('alpha', await freePort(), { agents: 2 });
  const b = ws.writeSpec('beta', await freePort(), { agents: 1 });
  for (const f of [a, b]) {
    const r = await ws.cli(['apply', '--auto-approve', f]);
    assert.equal(r.code, 0, explain(r));
  }
  assert.equal((await ws.cli(['plan', '--detailed-exitcode', a, b])).code, 0);

  // alpha loses an agent: only alpha's resources are deleted, beta's stay.
  writeFileSync(a, specText('alpha', ws.readState().entries.find((e) => e.fqn.startsWith('alpha/'))!.runtime!.port, { agents: 1 }));
  const plan = JSON.parse((await ws.cli(['plan', '--json', a])).stdout) as { actions: Array<{ action: string; fqn: string }> };
  assert.deepEqual(
    plan.actions.filter((x) => x.action !== 'noop').map((x) => `${x.action} ${x.fqn}`),
    ['delete alpha/Agent/a1', 'delete alpha/Prompt/p1'],
  );
  const r = await ws.cli(['apply', '--auto-approve', a]);
  assert.equal(r.code, 0, explain(r));
  assert.match(r.stdout, /Apply complete! 0 created, 0 updated, 2 destroyed\./);
  const fqns = ws.readState().entries.map((e) => e.fqn);
  assert.deepEqual(fqns, ['alpha/Agent/a0', 'alpha/Prompt/p0', 'beta/Agent/a0', 'beta/Prompt/p0']);

  // plan --destroy: what destroy would remove, for the packages given only; nothing is written.
  const before = readFileSync(ws.stateFile, 'utf8');
  const destroyPlan = await ws.cli(['plan', '--destroy', '--detailed-exitcode', b]);
  assert.equal(destroyPlan.code, 2, explain(destroyPlan));
  assert.match(destroyPlan.stdout, /^ {2}- beta\/Agent\/a0$/m);
  assert.doesNotMatch(destroyPlan.stdout, /alpha\//);
  assert.match(destroyPlan.stdout, /^Plan: 2 to destroy\.$/m);
  assert.equal(readFileSync(ws.stateFile, 'utf8'), before);

  for (const f of [a, b]) {
    const d = await ws.cli(['destroy', '--auto-approve', f]);
    assert.equal(d.code, 0, explain(d));
  }
  rmSync(path.join(ws.dir, 'alpha.ias'));
});
