import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseExpression, parseRespond, parseWhen, ROOT_VARIABLES, type ExprValue } from '../../src/lang/expression.ts';
import { asText, evaluate, evaluateCondition, EvalFailure, renderTemplate } from '../../src/lang/evaluate.ts';

const scope = new Map<string, ExprValue>([
  ['input', 'Hello World'],
  ['output', '{"ok": true, "items": [1, 2, 3], "name": "x"}'],
  ['steps', { lookup: 'found: it', count: 3 }],
  ['variables', { tier: 'gold' }],
  ['config', { max: 5, style: 'friendly', on: true }],
]);

const ev = (text: string): ExprValue => evaluate(parseExpression(text), scope);
const fails = (text: string): string => {
  try {
    ev(text);
  } catch (err) {
    if (err instanceof EvalFailure) return err.message;
    throw err;
  }
  throw new Error(`"${text}" did not fail`);
};

describe('expression evaluator', () => {
  test('comparisons of numbers and of strings; == and != compare values deeply, without coercion', () => {
    assert.equal(ev('config.max >= 5'), true);
    assert.equal(ev('config.max < 5'), false);
    assert.equal(ev('"abc" < "abd"'), true);
    assert.equal(ev('[ 1 , [ 2 ] ] == [ 1 , [ 2 ] ]'), true);
    assert.equal(ev('config.max == "5"'), false);
    assert.equal(ev('input != ""'), true);
  });

  test('string operators: matches (regex), contains, startsWith, endsWith, in', () => {
    assert.equal(ev('input matches "^Hello \\w+$"'), true);
    assert.equal(ev('input matches "^\\d+$"'), false);
    assert.equal(ev('input contains "World"'), true);
    assert.equal(ev('input startsWith "Hell"'), true);
    assert.equal(ev('input endsWith "x"'), false);
    assert.equal(ev('"World" in input'), true);
    assert.equal(ev('2 in fromJSON ( output ).items'), true);
    assert.equal(ev('"lookup" in steps'), true);
    assert.equal(ev('fromJSON ( output ).items contains 4'), false);
  });

  test('functions', () => {
    assert.equal(ev('len ( input )'), 11);
    assert.equal(ev('len ( "héllo" )'), 5);
    assert.equal(ev('len ( fromJSON ( output ).items )'), 3);
    assert.equal(ev('len ( steps )'), 2);
    assert.equal(ev('lower ( input )'), 'hello world');
    assert.equal(ev('upper ( input )'), 'HELLO WORLD');
    assert.equal(ev('trim ( "  x " )'), 'x');
    assert.deepEqual(ev('split ( "a,b" , "," )'), ['a', 'b']);
    assert.equal(ev('isJSON ( output )'), true);
    assert.equal(ev('isJSON ( input )'), false);
    assert.equal(ev('fromJSON ( output ).ok'), true);
    assert.equal(ev('toJSON ( [ 1 , "a" ] )'), '[1,"a"]');
    assert.equal(ev('string ( 12 )'), '12');
    assert.equal(ev('number ( "12.5" )'), 12.5);
  });

  test('and / or short-circuit; not; conditions must be true or false', () => {
    assert.equal(ev('isJSON ( input ) and fromJSON ( input ).x == 1'), false);
    assert.equal(ev('true or fromJSON ( input )'), true);
    assert.equal(ev('not ( input == "x" )'), true);
    assert.equal(evaluateCondition(parseExpression('config.on'), scope), true);
    assert.throws(() => evaluateCondition(parseExpression('input'), scope), /a condition needs true or false, got string/);
  });

  test('fields: a missing one reads as null; a field of text is an error that says how to read JSON', () => {
    assert.equal(ev('steps.missing'), null);
    assert.equal(ev('steps.missing.deeper'), null);
    assert.equal(ev('fromJSON ( output ).items [ 7 ]'), null);
    assert.equal(ev('steps [ "lookup" ]'), 'found: it');
    assert.equal(ev('variables.tier'), 'gold');
    assert.match(fails('output.ok'), /a string has no field "ok" \(fromJSON\(\.\.\.\) reads JSON text\)/);
  });

  test('errors name the problem and its column', () => {
    assert.equal(fails('config.max > "a"'), '">" compares two numbers or two strings, got number and string (column 12)');
    assert.equal(fails('fromJSON ( input )').startsWith('fromJSON: the text is not JSON'), true);
    assert.equal(fails('nope == 1'), 'unknown variable "nope" (column 1)');
    assert.equal(fails('not input'), '"not" needs true or false, got string (column 1)');
    assert.equal(fails('upper ( 1 )'), 'upper() needs a string, got number (column 1)');
    assert.equal(fails('number ( "abc" )'), 'number() cannot read "abc" as a number (column 1)');
    assert.equal(fails('len ( 1 )'), 'len() needs a string, list or object, got number (column 1)');
    assert.equal(fails('fromJSON ( output ).items [ "a" ]'), 'a list index must be a whole number, got string (column 27)');
  });

  test('respond text: values read as text, placeholders filled in', () => {
    assert.equal(asText(null), '');
    assert.equal(asText({ a: 1 }), '{"a":1}');
    const form = parseRespond('Got {{ steps.lookup }} ({{ steps.count }} hits, {{ steps.none }})', new Set(ROOT_VARIABLES));
    assert.ok('template' in form);
    if ('template' in form) assert.equal(renderTemplate(form.template, scope), 'Got found: it (3 hits, )');
  });
});

describe('pipeline step conditions (when)', () => {
  const pipelineScope = new Map<string, ExprValue>([
    ['trigger', { priority: 'high', count: 5, tags: ['a', 'b'], nested: { ok: true }, text: 'ticket 123' }],
    ['input', 'hello world'],
    ['steps', { fetch: { output: 'done', status: 'completed' } }],
  ]);
  const holds = (text: string): boolean => evaluateCondition(parseWhen(text), pipelineScope);
  const failure = (text: string): string => {
    try {
      holds(text);
    } catch (err) {
      if (err instanceof EvalFailure) return err.message;
      throw err;
    }
    throw new Error(`"${text}" did not fail`);
  };

  test('comparisons, boolean words, literals and dotted names', () => {
    assert.equal(holds(`trigger.priority == "high"`), true);
    assert.equal(holds(`trigger.priority == 'low'`), false);
    assert.equal(holds('trigger.priority != "low"'), true);
    assert.equal(holds('trigger.count > 3 and trigger.count <= 5'), true);
    assert.equal(holds('trigger.count >= 6 or trigger.count < 0'), false);
    assert.equal(holds('trigger.count == "5"'), false, 'no coercion: number ( trigger.count ) reads text as a number');
    assert.equal(holds('number ( string ( trigger.count ) ) == 5'), true);
    assert.equal(holds('not (trigger.count == 5)'), false);
    assert.equal(holds('trigger.missing == null'), true, 'a missing field is null');
    assert.equal(holds('trigger.nested.ok'), true);
    assert.equal(holds('trigger.tags.1 == "b"'), true);
    assert.equal(holds('trigger.tags.7 == null'), true);
    assert.equal(holds('true and not false'), true);
    assert.equal(holds('steps.fetch.status == "completed"'), true);
    assert.equal(holds('input != ""'), true);
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
  });

  test('evaluation errors: an unknown name, numbers compared with text, a condition that is not true or false', () => {
    assert.equal(failure('priority == 1'), 'unknown variable "priority" (column 1)');
    assert.equal(failure('trigger.priority > 1'), '">" compares two numbers or two strings, got string and number (column 18)');
    assert.equal(failure('trigger.missing contains "x"'), '"contains" needs a string, list or object, got null (column 17)');
    assert.equal(failure('input'), 'a condition needs true or false, got string (column 1)');
  });
});
