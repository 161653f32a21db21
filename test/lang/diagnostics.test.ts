import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { diagnostic, diagnosticsToJson, formatDiagnostics, sortDiagnostics } from '../../src/lang/diagnostics.ts';

describe('diagnostics', () => {
  const a = diagnostic('a.ias', 3, 9, "unexpected character '='", "did you mean '=='?");
  const b = diagnostic('b.ias', 1, 1, 'expected X');

  test('plain format: FILE:LINE:COL: error: MESSAGE and an indented hint', () => {
    assert.equal(
      formatDiagnostics([a, b], { color: false }),
      "a.ias:3:9: error: unexpected character '='\n  hint: did you mean '=='?\nb.ias:1:1: error: expected X\n",
    );
  });

  test('with source: the line and a caret under the column (runes, tabs kept)', () => {
    const src = 'package "p"\nagent "é" {\n\tmodel = "m"\n}\n';
    const out = formatDiagnostics([diagnostic('a.ias', 3, 8, 'bad'), diagnostic('a.ias', 2, 11, 'after é')], {
      color: false,
      source: (f) => (f === 'a.ias' ? src : undefined),
    });
    assert.equal(out, 'a.ias:3:8: error: bad\n  \tmodel = "m"\n  \t      ^\na.ias:2:11: error: after é\n  agent "é" {\n            ^\n');
  });

  test('unknown source or line: no source excerpt', () => {
    const out = formatDiagnostics([diagnostic('x.ias', 99, 1, 'm')], { color: false, source: () => 'one line' });
    assert.equal(out, 'x.ias:99:1: error: m\n');
  });

  test('color wraps parts in ANSI codes, text unchanged once stripped', () => {
    const out = formatDiagnostics([a], { color: true });
    assert.ok(out.includes('\u001b['));
    // eslint-disable-next-line no-control-regex
    assert.equal(out.replace(/\u001b\[[0-9;]*m/g, ''), formatDiagnostics([a], { color: false }));
  });

  test('JSON shape: {file, line, column, message, hint?}', () => {
    assert.deepEqual(diagnosticsToJson([a, b]), [
      { file: 'a.ias', line: 3, column: 9, message: "unexpected character '='", hint: "did you mean '=='?" },
      { file: 'b.ias', line: 1, column: 1, message: 'expected X' },
    ]);
    assert.equal('hint' in (diagnosticsToJson([b])[0] ?? {}), false);
  });

  test('empty hints are dropped; sort is by file, line, column', () => {
    assert.equal(diagnostic('f', 1, 1, 'm', '').hint, undefined);
    const sorted = sortDiagnostics([diagnostic('b', 1, 1, 'x'), diagnostic('a', 2, 5, 'y'), diagnostic('a', 2, 1, 'z')]);
    assert.deepEqual(sorted.map((d) => d.message), ['z', 'y', 'x']);
  });
});
