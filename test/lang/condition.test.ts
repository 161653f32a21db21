import { test } from 'node:test';
import assert from 'node:assert/strict';
import { conditionPaths, ConditionError, evaluateCondition, parseCondition, type Scope } from '../../src/lang/condition.ts';

const scope: Scope = {
  trigger: { priority: 'high', count: 5, tags: ['a', 'b'], nested: { ok: true }, text: 'ticket 123' },
  input: 'hello world',
  steps: { fetch: { output: 'done', status: 'completed' } },
};
const holds = (src: string): boolean => evaluateCondition(src, parseCondition(src), scope);

test('comparisons, boolean words, literals and dotted names', () => {
  assert.equal(holds(`trigger.priority == "high"`), true);
  assert.equal(holds(`trigger.priority == 'low'`), false);
  assert.equal(holds('trigger.priority != "low"'), true);
  assert.equal(holds('trigger.count > 3 and trigger.count <= 5'), true);
  assert.equal(holds('trigger.count >= 6 or trigger.count < 0'), false);
  assert.equal(holds('trigger.count == "5"'), true, 'a number equals its text');
  assert.equal(holds('not (trigger.count == 5)'), false);
  assert.equal(holds('not trigger.missing'), true, 'a missing field is null');
  assert.equal(holds('trigger.missing == null'), true);
  assert.equal(holds('trigger.nested.ok'), true);
  assert.equal(holds('trigger.tags.1 == "b"'), true);
  assert.equal(holds('true and not false'), true);
  assert.equal(holds('steps.fetch.status == "completed"'), true);
  assert.equal(holds('input'), true);
});

test('and binds tighter than or; not applies to what follows', () => {
  assert.equal(holds('true or false and false'), true);
  assert.equal(holds('(true or false) and false'), false);
  assert.equal(holds('not false and false'), false);
});

test('matches and contains', () => {
  assert.equal(holds('trigger.text matches "\\d{3}"'), true);
  assert.equal(holds(`not (input matches '^bye')`), true);
  assert.equal(holds('input contains "world"'), true);
  assert.equal(holds('trigger.tags contains "a"'), true);
  assert.equal(holds('trigger.tags contains "z"'), false);
  assert.equal(holds('trigger.missing contains "x"'), false);
});

test('syntax errors name the column', () => {
  const bad: Array<[string, RegExp]> = [
    ['a = 1', /unexpected '=' \(did you mean '=='\?\) at column 3/],
    ['a ==', /expected a value, a name or \(, got the end at column 5/],
    ['(a == 1', /expected '\)', got the end at column 8/],
    ['a == 1 b', /expected and, or, or the end of the condition, got "b" at column 8/],
    ["a == 'x", /unterminated string at column 6/],
    ['', /is empty/],
    ['a matches "("', /invalid regular expression/],
    ['a ; b', /unexpected character ";" at column 3/],
  ];
  for (const [src, msg] of bad) assert.throws(() => parseCondition(src), (e: unknown) => e instanceof ConditionError && msg.test(e.message), src);
});

test('evaluation errors: an unknown name, numbers compared with text', () => {
  assert.throws(() => holds('priority == 1'), /unknown name "priority" \(known: input, steps, trigger\)/);
  assert.throws(() => holds('trigger.priority > 1'), /> needs two numbers, got "high" and 1/);
  assert.throws(() => holds('trigger.nested contains "x"'), /contains needs a string or a list on its left/);
});

test('the names a condition reads', () => {
  assert.deepEqual(conditionPaths(parseCondition('trigger.a == 1 or not (steps.x.output matches "y")')), [['trigger', 'a'], ['steps', 'x', 'output']]);
});
