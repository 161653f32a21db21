import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { lex } from '../../src/lang/lexer.ts';
import { KEYWORDS } from '../../src/lang/tokens.ts';

const kinds = (src: string): string[] => lex(src, 't.ias').tokens.map((t) => `${t.kind}:${t.text}`);

describe('lexer', () => {
  test('has exactly the 101 reserved keywords, no duplicates', () => {
    assert.equal(KEYWORDS.length, 101);
    assert.equal(new Set(KEYWORDS).size, 101);
    for (const notKw of ['max_messages', 'cpu', 'path', 'interval', 'min', 'max', 'metric', 'expect', 'string', 'int']) {
      assert.equal(KEYWORDS.includes(notKw), false, notKw);
    }
    assert.deepEqual(kinds('from query loop'), ['kw:from', 'kw:query', 'kw:loop', 'eof:']);
  });

  test('identifiers take letters, digits, _ and -; keywords are case-sensitive', () => {
    assert.deepEqual(kinds('claude-haiku-latest web-search gpt-4 _x Agent agent héllo'), [
      'ident:claude-haiku-latest',
      'ident:web-search',
      'ident:gpt-4',
      'ident:_x',
      'ident:Agent',
      'kw:agent',
      'ident:héllo',
      'eof:',
    ]);
  });

  test('numbers: greedy digits, dots and dashes; no validation at lex time', () => {
    assert.deepEqual(kinds('2024-01-01 1.2.3 -5 1e5 10s .5'), [
      'number:2024-01-01',
      'number:1.2.3',
      'number:-5',
      'number:1',
      'ident:e5',
      'number:10',
      'ident:s',
      '.:.',
      'number:5',
      'eof:',
    ]);
  });

  test('strings: escapes, unknown escapes keep both characters, raw newlines kept', () => {
    const r = lex('"a\\nb\\t\\\\\\"q\\d\\q" "line1\nline2" x', 't.ias');
    assert.deepEqual(r.diagnostics, []);
    assert.equal(r.tokens[0]?.text, 'a\nb\t\\"q\\d\\q');
    assert.equal(r.tokens[1]?.text, 'line1\nline2');
    // The identifier after a multi-line string sits on line 2, column 8.
    assert.deepEqual(r.tokens[2]?.pos, { line: 2, column: 8 });
    assert.deepEqual(kinds('"{{var}} # not a comment // nor this"'), ['string:{{var}} # not a comment // nor this', 'eof:']);
  });

  test('newline is a token; spaces, tabs and CR are skipped; columns count runes', () => {
    const r = lex('a\t b\r\n  é "ü" c', 't.ias');
    assert.deepEqual(
      r.tokens.map((t) => [t.kind, t.pos.line, t.pos.column]),
      [
        ['ident', 1, 1],
        ['ident', 1, 4],
        ['newline', 1, 6],
        ['ident', 2, 3],
        ['string', 2, 5],
        ['ident', 2, 9],
        ['eof', 2, 10],
      ],
    );
  });

  test('runes outside the BMP count as one column; astral letters start identifiers', () => {
    const r = lex('"💥" x 𝒳y 💥', 't.ias');
    assert.deepEqual(
      r.tokens.map((t) => [t.kind, t.text, t.pos.column]),
      [
        ['string', '💥', 1],
        ['ident', 'x', 5],
        ['ident', '𝒳y', 7],
        ['eof', '', 11],
      ],
    );
    assert.deepEqual(r.diagnostics.map((d) => [d.column, d.message]), [[10, "unexpected character '💥'"]]);
  });

  test('comments # and // are collected, not tokens; trailing is set when code precedes', () => {
    const r = lex('# top\nmodel "x" // after\n  // indented\n"multi\nline" # after string\n', 't.ias');
    assert.deepEqual(r.diagnostics, []);
    assert.deepEqual(r.comments, [
      { pos: { line: 1, column: 1 }, text: '# top', trailing: false },
      { pos: { line: 2, column: 11 }, text: '// after', trailing: true },
      { pos: { line: 3, column: 3 }, text: '// indented', trailing: false },
      { pos: { line: 5, column: 7 }, text: '# after string', trailing: true },
    ]);
    assert.ok(r.tokens.every((t) => !t.text.includes('#') && !t.text.startsWith('//')));
  });

  test('punctuation and comparison operators', () => {
    assert.deepEqual(kinds('{}[](),.: == != > >= < <='), [
      '{:{', '}:}', '[:[', ']:]', '(:(', '):)', ',:,', '.:.', ':::', '==:==', '!=:!=', '>:>', '>=:>=', '<:<', '<=:<=', 'eof:',
    ]);
  });

  test('lexer errors are reported at their real position and lexing continues', () => {
    const r = lex('a = b\n  x ! y / z @ ;\n- q', 't.ias');
    assert.deepEqual(
      r.diagnostics.map((d) => [d.line, d.column, d.message, d.hint]),
      [
        [1, 3, "unexpected character '='", "did you mean '=='?"],
        [2, 5, "unexpected character '!'", "did you mean '!='?"],
        [2, 9, "unexpected character '/'", 'comments start with # or //'],
        [2, 13, "unexpected character '@'", undefined],
        [2, 15, "unexpected character ';'", undefined],
        [3, 1, "unexpected character '-'", undefined],
      ],
    );
    // Every good token is still there.
    assert.deepEqual(
      r.tokens.filter((t) => t.kind === 'ident').map((t) => t.text),
      ['a', 'b', 'x', 'y', 'z', 'q'],
    );
  });

  test('unterminated string is an error at its opening quote', () => {
    const r = lex('x\n  "abc\ndef', 't.ias');
    assert.deepEqual(
      r.diagnostics.map((d) => [d.line, d.column, d.message]),
      [[2, 3, 'unterminated string']],
    );
    assert.equal(r.tokens.at(-1)?.kind, 'eof');
  });
});
