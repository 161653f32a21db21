import assert from 'node:assert/strict';
import type { File, Statement } from '../../src/lang/ast.ts';
import { parse } from '../../src/lang/parser.ts';

export const HEADER = 'package "p" version "1.0.0" lang "3.0"\n';

/** Parse and require zero diagnostics. */
export function parseOk(src: string): File {
  const r = parse(src, 't.ias');
  assert.deepEqual(r.diagnostics, [], 'expected no diagnostics');
  return r.file;
}

/** The only statement of the given kind (parse must be clean). */
export function only<K extends Statement['kind']>(body: string, kind: K): Extract<Statement, { kind: K }> {
  const f = parseOk(HEADER + body);
  const found = f.statements.filter((s) => s.kind === kind);
  assert.equal(found.length, 1, `expected one ${kind} statement`);
  return found[0] as Extract<Statement, { kind: K }>;
}

/** `[line, column, message]` of every diagnostic. */
export function errs(src: string): [number, number, string][] {
  return parse(src, 't.ias').diagnostics.map((d) => [d.line, d.column, d.message]);
}

/** Strip positions (and the escaped EXPR sources, tested on their own) to compare just the values. */
export function values(x: unknown): unknown {
  return JSON.parse(
    JSON.stringify(x, (k, v: unknown) =>
      k === 'pos' || k === 'endLine' || k.endsWith('Pos') || k.endsWith('Source') ? undefined : v,
    ),
  );
}
