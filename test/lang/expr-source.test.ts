import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { lex } from '../../src/lang/lexer.ts';
import { escapeString, oneLine } from '../../src/lang/parser-core.ts';
import { only } from './helpers.ts';

const runs = process.env.CI === 'true' ? 5000 : 500;
const alphabet = fc.constantFrom('a', 'n', 't', 'd', '\\', '"', '\n', '\t', ' ', 'é', '{', '#');
const content = fc.array(alphabet, { maxLength: 20 }).map((xs) => xs.join(''));

/** The token the lexer reads from `"<inner>"`, or undefined when it is not one clean string token. */
function readToken(inner: string): { text: string; raw?: string } | undefined {
  const r = lex(`"${inner}"`, 'x.ias');
  if (r.diagnostics.length > 0 || r.tokens.length !== 2 || r.tokens[0]?.kind !== 'string') return undefined;
  return r.tokens[0];
}

const readString = (inner: string): string | undefined => readToken(inner)?.text;

test('escapeString: any text reads back unchanged, on one line', () => {
  fc.assert(
    fc.property(content, (text) => {
      const escaped = escapeString(text);
      assert.ok(!escaped.includes('\n'));
      assert.equal(readString(escaped), text);
    }),
    { numRuns: runs },
  );
  assert.equal(escapeString('\\d{3}'), '\\d{3}');
  assert.equal(escapeString('a\\'), 'a\\\\');
});

test('oneLine: string contents as written read back to the same text, on one line', () => {
  fc.assert(
    fc.property(content, (raw) => {
      const tok = readToken(raw);
      fc.pre(tok !== undefined && tok.raw === raw);
      const text = tok?.text;
      const written = oneLine(raw);
      assert.ok(!written.includes('\n'));
      assert.equal(readString(written), text);
    }),
    { numRuns: runs },
  );
  assert.equal(oneLine('a\\\nb'), 'a\\\\\\nb');
});

test('a multi-line string in an expression gets a one-line source', () => {
  const a = only('agent "a" { on input { respond x == "line1\nline2" } }\n', 'agent');
  const r = a.onInput?.body[0];
  assert.ok(r?.kind === 'respond');
  assert.equal(r.expression, 'x == "line1\nline2"');
  assert.equal(r.expressionSource, 'x == "line1\\nline2"');
});
