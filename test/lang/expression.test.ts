import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ExpressionSyntaxError, parseExpression, parseInScope, parseRespond, parseWhen, rootVariables, ROOT_VARIABLES } from '../../src/lang/expression.ts';

const scope = new Set<string>(ROOT_VARIABLES);

function syntaxError(text: string, opts: { escaped?: boolean } = {}): { reason: string; column: number } {
  try {
    parseExpression(text, opts);
  } catch (err) {
    if (err instanceof ExpressionSyntaxError) return { reason: err.reason, column: err.column };
    throw err;
  }
  throw new Error(`"${text}" parsed`);
}

describe('expression parser', () => {
  test('reads the IR text form of REFERENCE 2.6 (tokens joined by spaces, dots glued)', () => {
    assert.deepEqual(parseExpression('not ( output matches "\\d{3}" )'), {
      kind: 'not',
      column: 1,
      operand: {
        kind: 'binary',
        op: 'matches',
        column: 14,
        left: { kind: 'var', name: 'output', column: 7 },
        right: { kind: 'literal', value: '\\d{3}', column: 22 },
        regex: /\d{3}/u,
      },
    });
    assert.deepEqual(parseExpression('input.items [ 0 ]'), {
      kind: 'index',
      column: 13,
      object: { kind: 'member', name: 'items', column: 6, object: { kind: 'var', name: 'input', column: 1 } },
      index: { kind: 'literal', value: 0, column: 15 },
    });
  });

  test('and binds tighter than or; not tighter than and; comparisons tighter than not', () => {
    const e = parseExpression('a == 1 or not b and c');
    assert.equal(e.kind, 'logical');
    if (e.kind !== 'logical') return;
    assert.equal(e.op, 'or');
    assert.equal(e.left.kind, 'binary');
    assert.equal(e.right.kind, 'logical');
    if (e.right.kind === 'logical') assert.equal(e.right.left.kind, 'not');
  });

  test('literals: strings, whole and decimal numbers, negatives, true/false/null, lists', () => {
    assert.deepEqual(parseExpression('[ "x" , 2 , -3.5 , true , false , null ]'), {
      kind: 'list',
      column: 1,
      items: [
        { kind: 'literal', value: 'x', column: 3 },
        { kind: 'literal', value: 2, column: 9 },
        { kind: 'literal', value: -3.5, column: 13 },
        { kind: 'literal', value: true, column: 20 },
        { kind: 'literal', value: false, column: 27 },
        { kind: 'literal', value: null, column: 35 },
      ],
    });
  });

  test('escaped source form: \\" and \\\\ decode, an unknown escape keeps both characters', () => {
    const e = parseExpression('output == "a\\"b\\\\c\\d"', { escaped: true });
    assert.equal(e.kind === 'binary' && e.right.kind === 'literal' ? e.right.value : undefined, 'a"b\\c\\d');
  });

  test('what is refused, with the column', () => {
    assert.deepEqual(syntaxError(''), { reason: 'empty expression', column: 1 });
    assert.deepEqual(syntaxError('output +'), { reason: 'unexpected character "+"', column: 8 });
    assert.deepEqual(syntaxError('length ( output )'), { reason: 'unknown function "length" (known: len, lower, upper, trim, split, isJSON, fromJSON, toJSON, string, number)', column: 1 });
    assert.deepEqual(syntaxError('len ( a , b )'), { reason: 'len() takes 1 argument(s), got 2', column: 1 });
    assert.deepEqual(syntaxError('a == b == c'), { reason: '"==" cannot follow another comparison; use and/or and parentheses', column: 8 });
    assert.deepEqual(syntaxError('( a'), { reason: 'expected ")", got end of expression', column: 4 });
    assert.deepEqual(syntaxError('a b'), { reason: 'unexpected "b"', column: 3 });
    assert.deepEqual(syntaxError('1.2.3 == a'), { reason: 'invalid number "1.2.3"', column: 1 });
    assert.deepEqual(syntaxError('output matches "(["').column, 16);
    assert.deepEqual(syntaxError('output matches input'), { reason: 'the pattern of "matches" must be a string literal', column: 16 });
    assert.deepEqual(syntaxError('"open'), { reason: 'unterminated string', column: 1 });
    assert.deepEqual(syntaxError('a = b'), { reason: 'unexpected "=" (comparisons are == != < <= > >=)', column: 3 });
    assert.deepEqual(syntaxError('and'), { reason: '"and" needs a value before it', column: 1 });
    assert.equal(syntaxError('('.repeat(100) + 'a' + ')'.repeat(100)).reason, 'nested more than 64 levels deep');
  });

  test('variables: every root is reported; parseInScope refuses unknown ones', () => {
    assert.deepEqual(
      rootVariables(parseExpression('len ( steps.x ) > 1 and item in config.list')).map((v) => v.name),
      ['steps', 'item', 'config'],
    );
    assert.throws(() => parseInScope('item == 1', scope), /unknown variable "item" \(known: input, output, steps, variables, config\) at column 1/);
    assert.doesNotThrow(() => parseInScope('item == 1', new Set([...scope, 'item'])));
  });
});

describe('pipeline step conditions (when)', () => {
  const whenError = (text: string): { reason: string; column: number } => {
    try {
      parseWhen(text);
    } catch (err) {
      if (err instanceof ExpressionSyntaxError) return { reason: err.reason, column: err.column };
      throw err;
    }
    throw new Error(`"${text}" parsed`);
  };

  test('single and double quotes; a backslash escapes the quote that opened the string', () => {
    const literal = (text: string): unknown => {
      const e = parseWhen(text);
      return e.kind === 'binary' && e.right.kind === 'literal' ? e.right.value : undefined;
    };
    assert.equal(literal(`trigger.priority == 'high'`), 'high');
    assert.equal(literal(`trigger.priority == "high"`), 'high');
    assert.equal(literal(`trigger.note == 'it\\'s'`), "it's");
    assert.equal(literal(`trigger.note == 'say "hi"'`), 'say "hi"');
    assert.equal(literal(`trigger.text matches '\\d{3}'`), '\\d{3}');
  });

  test('a number after "." is a list position', () => {
    assert.deepEqual(parseWhen('trigger.tags.1.name'), {
      kind: 'member',
      name: 'name',
      column: 15,
      object: {
        kind: 'index',
        column: 13,
        object: { kind: 'member', name: 'tags', column: 8, object: { kind: 'var', name: 'trigger', column: 1 } },
        index: { kind: 'literal', value: 1, column: 14 },
      },
    });
  });

  test('every form a condition may use parses: comparisons, matches, contains, not, and / or, parentheses, dotted names', () => {
    for (const text of [
      'trigger.count > 3 and trigger.count <= 5',
      'trigger.count >= 6 or trigger.count < 0',
      'trigger.priority != "low"',
      'not (trigger.count == 5)',
      'true or false and false',
      `not (input matches '^bye') and steps.fetch.output contains 'ERROR'`,
      'steps.fetch.status == "completed"',
    ]) {
      assert.doesNotThrow(() => parseWhen(text), text);
    }
  });

  test('what is refused, with the column', () => {
    assert.deepEqual(whenError('a = 1'), { reason: 'unexpected "=" (comparisons are == != < <= > >=)', column: 3 });
    assert.deepEqual(whenError('a =='), { reason: 'unexpected end of expression', column: 5 });
    assert.deepEqual(whenError('(a == 1'), { reason: 'expected ")", got end of expression', column: 8 });
    assert.deepEqual(whenError('a == 1 b'), { reason: 'unexpected "b"', column: 8 });
    assert.deepEqual(whenError(`a == 'x`), { reason: 'unterminated string', column: 6 });
    assert.deepEqual(whenError(''), { reason: 'empty expression', column: 1 });
    assert.match(whenError('a matches "("').reason, /^invalid regular expression "\("/);
    assert.deepEqual(whenError('a ; b'), { reason: 'unexpected character ";"', column: 3 });
  });

  test('the variables a condition reads', () => {
    assert.deepEqual(
      rootVariables(parseWhen('trigger.a == 1 or not (steps.x.output matches "y")')).map((v) => v.name),
      ['trigger', 'steps'],
    );
  });
});

describe('respond forms', () => {
  test('text that reads as an expression over known variables is one', () => {
    assert.ok('expr' in parseRespond('input', scope));
    assert.ok('expr' in parseRespond('steps.lookup', scope));
  });

  test('anything else is literal text with {{ EXPR }} placeholders', () => {
    assert.deepEqual(parseRespond('ok', scope), { template: [{ text: 'ok' }] });
    assert.deepEqual(parseRespond('Hello there!', scope), { template: [{ text: 'Hello there!' }] });
    const t = parseRespond('Found {{ steps.lookup }}, done', scope);
    assert.ok('template' in t);
    if ('template' in t) {
      assert.equal(t.template.length, 3);
      assert.deepEqual(t.template[0], { text: 'Found ' });
      assert.equal('source' in (t.template[1] ?? {}) ? (t.template[1] as { source: string }).source : '', 'steps.lookup');
      assert.deepEqual(t.template[2], { text: ', done' });
    }
  });

  test('a placeholder that does not parse is an error naming it', () => {
    assert.throws(() => parseRespond('Hi {{ nope }}', scope), /in placeholder \{\{ nope \}\}: unknown variable "nope"/);
  });
});
