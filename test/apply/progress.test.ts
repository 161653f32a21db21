import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applySummary, countResults, destroySummary, failureLines, textProgress, type ActionResult } from '../../src/apply/index.ts';

const ok = (fqn: string, action: ActionResult['action']): ActionResult => ({ fqn, action, ok: true, ms: 1200 });
const failed = (fqn: string, action: ActionResult['action'], error: string): ActionResult => ({ fqn, action, ok: false, ms: 300, error });

test('outcome lines: the symbol matches the outcome, a failure is marked as one', () => {
  let out = '';
  const p = textProgress((t) => (out += t));
  p.result!(ok('a/Agent/x', 'create'));
  p.result!(ok('a/Agent/y', 'update'));
  p.result!(ok('a/Agent/z', 'delete'));
  p.result!(failed('b/Agent/w', 'create', 'port 1 is already in use'));
  assert.equal(
    out,
    '  + a/Agent/x: created (1.2s)\n  ~ a/Agent/y: updated (1.2s)\n  - a/Agent/z: destroyed (1.2s)\n  x b/Agent/w: create failed (0.3s)\n',
  );
});

test('runtime start progress: the spawn always, the per-second wait only on a terminal', () => {
  let plain = '';
  const p = textProgress((t) => (plain += t));
  p.runtime!('demo', { kind: 'spawned', pid: 42 });
  p.runtime!('demo', { kind: 'waiting', seconds: 1 });
  assert.equal(plain, 'demo: runtime process 42 started, waiting for it to be healthy\n');
  let live = '';
  const l = textProgress((t) => (live += t), { live: true });
  l.runtime!('demo', { kind: 'waiting', seconds: 2 });
  assert.equal(live, 'demo: still waiting for health... (2s)\n');
});

test('one error line per distinct failure, not one per resource', () => {
  const rs = [
    failed('a/Agent/x', 'create', 'the runtime exited during start'),
    failed('a/Prompt/p', 'create', 'the runtime exited during start'),
    failed('b/Agent/y', 'update', 'could not stop the previous runtime'),
    ok('c/Agent/z', 'create'),
  ];
  assert.deepEqual(failureLines(rs), ['Error: a: the runtime exited during start', 'Error: b: could not stop the previous runtime']);
});

test('summary lines', () => {
  assert.equal(applySummary(countResults([ok('a/A/x', 'create'), ok('a/A/y', 'delete')])), 'Apply complete! 1 created, 0 updated, 1 destroyed.');
  assert.equal(applySummary(countResults([failed('a/A/x', 'create', 'e')])), 'Apply failed! 0 created, 0 updated, 0 destroyed, 1 failed.');
  assert.equal(destroySummary(countResults([ok('a/A/x', 'delete'), ok('a/A/y', 'delete')])), 'Destroy complete! 2 destroyed.');
  assert.equal(destroySummary(countResults([failed('a/A/x', 'delete', 'e')])), 'Destroy failed! 0 destroyed, 1 failed.');
});

test('a failure whose message carries log lines is still one line, pointing at the log', () => {
  const rs = [failed('a/Agent/x', 'create', 'the runtime exited during start with exit code 1:\n  Error: boom\n    at x\n')];
  assert.deepEqual(failureLines(rs), ["Error: a: the runtime exited during start with exit code 1 (the runtime's log: `agentspec logs a`)"]);
});
