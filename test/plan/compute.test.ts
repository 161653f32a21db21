import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Resource } from '../../src/ir/types.ts';
import { computePlan, entriesOfPackages, hasChanges, planToJson, renderPlan } from '../../src/plan/index.ts';
import type { StateEntry } from '../../src/state/types.ts';

function res(fqn: string, hash: string, attributes: Resource['attributes'] = {}): Resource {
  const [, kind, name] = fqn.split('/');
  return { kind: kind as Resource['kind'], name: name!, fqn, attributes, hash };
}

function entry(fqn: string, hash: string, status: StateEntry['status'] = 'applied', error?: string): StateEntry {
  return { fqn, hash, status, last_applied: '2026-11-27T10:00:00.000Z', adapter: 'process', ...(error ? { error } : {}) };
}

const actionsOf = (p: ReturnType<typeof computePlan>): Array<[string, string]> => p.actions.map((a) => [a.action, a.fqn]);

describe('computePlan', () => {
  test('a new FQN is created', () => {
    const p = computePlan({ packages: ['a'], desired: [res('a/Agent/x', 'sha256:1')], entries: [] });
    assert.deepEqual(actionsOf(p), [['create', 'a/Agent/x']]);
    assert.deepEqual(p.summary, { create: 1, update: 0, delete: 0, noop: 0 });
    assert.equal(hasChanges(p), true);
  });

  test('a different hash is an update, the same hash a no-op', () => {
    const p = computePlan({
      packages: ['a'],
      desired: [res('a/Agent/x', 'sha256:2'), res('a/Prompt/p', 'sha256:9')],
      entries: [entry('a/Agent/x', 'sha256:1'), entry('a/Prompt/p', 'sha256:9')],
    });
    assert.deepEqual(actionsOf(p), [
      ['update', 'a/Agent/x'],
      ['noop', 'a/Prompt/p'],
    ]);
    assert.equal(p.summary.noop, 1);
  });

  test('the same hash whose last apply failed (or never finished) is updated, with the reason', () => {
    const p = computePlan({
      packages: ['a'],
      desired: [res('a/Agent/x', 'sha256:1'), res('a/Agent/y', 'sha256:2')],
      entries: [entry('a/Agent/x', 'sha256:1', 'failed', 'port busy'), entry('a/Agent/y', 'sha256:2', 'pending')],
    });
    assert.deepEqual(actionsOf(p), [
      ['update', 'a/Agent/x'],
      ['update', 'a/Agent/y'],
    ]);
    assert.match(p.actions[0]!.reason ?? '', /failed: port busy/);
    assert.match(p.actions[1]!.reason ?? '', /did not finish/);
  });

  test('an FQN only in the state is deleted', () => {
    const p = computePlan({ packages: ['a'], desired: [], entries: [entry('a/Skill/old', 'sha256:1')] });
    assert.deepEqual(actionsOf(p), [['delete', 'a/Skill/old']]);
  });

  test('nothing to do when everything matches', () => {
    const p = computePlan({ packages: ['a'], desired: [res('a/Agent/x', 'sha256:1')], entries: [entry('a/Agent/x', 'sha256:1')] });
    assert.equal(hasChanges(p), false);
    // One line, said once: no per-package "(no changes)" block around it.
    assert.equal(renderPlan(p), 'No changes. The deployment matches the spec.\n');
    assert.equal(renderPlan(p, { destroy: true }), 'No changes. Nothing is deployed for these packages.\n');
    assert.match(renderPlan(p, { verbose: true }), /a\/Agent\/x/);
  });

  test("entries of other packages in the same state are never touched", () => {
    const entries = [entry('a/Agent/x', 'sha256:1'), entry('b/Agent/x', 'sha256:1'), entry('ab/Agent/z', 'sha256:1')];
    const p = computePlan({ packages: ['a'], desired: [], entries });
    assert.deepEqual(actionsOf(p), [['delete', 'a/Agent/x']]);
    assert.deepEqual(
      entriesOfPackages(entries, ['a', 'b']).map((e) => e.fqn),
      ['a/Agent/x', 'b/Agent/x'],
    );
  });

  test('updates list the changed attributes when the applied ones are known', () => {
    const previous = new Map([['a/Agent/x', { model: 'm1', max_turns: 5, stream: true }]]);
    const p = computePlan({
      packages: ['a'],
      desired: [res('a/Agent/x', 'sha256:2', { model: 'm2', max_turns: 5, timeout: '30s' })],
      entries: [entry('a/Agent/x', 'sha256:1')],
      previous,
    });
    assert.deepEqual(p.actions[0]!.changes, [
      { attribute: 'model', before: 'm1', after: 'm2' },
      { attribute: 'stream', before: true },
      { attribute: 'timeout', after: '30s' },
    ]);
    const text = renderPlan(p);
    assert.match(text, /~ a\/Agent\/x/);
    assert.match(text, /model: "m1" -> "m2"/);
    assert.match(text, /Plan: 0 to create, 1 to update, 0 to delete, 0 unchanged\./);
  });

  test('actions are sorted by FQN and the JSON form carries hashes and counts', () => {
    const p = computePlan({
      packages: ['a'],
      desired: [res('a/Skill/s', 'sha256:3'), res('a/Agent/x', 'sha256:1')],
      entries: [entry('a/Prompt/gone', 'sha256:7')],
    });
    assert.deepEqual(p.actions.map((a) => a.fqn), ['a/Agent/x', 'a/Prompt/gone', 'a/Skill/s']);
    const json = planToJson(p) as { changes: boolean; summary: unknown; actions: Array<Record<string, unknown>> };
    assert.equal(json.changes, true);
    assert.deepEqual(json.summary, { create: 2, update: 0, delete: 1, noop: 0 });
    assert.equal(json.actions[1]!.previous_hash, 'sha256:7');
    assert.equal(json.actions[0]!.hash, 'sha256:1');
    const text = renderPlan(p);
    assert.match(text, /\+ a\/Agent\/x/);
    assert.match(text, /- a\/Prompt\/gone/);
  });
});
