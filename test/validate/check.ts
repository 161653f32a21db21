// Shared by the validation tests: parse a source with the real parser and validate it.
import { parse } from '../../src/lang/index.ts';
import type { Diagnostic } from '../../src/lang/diagnostics.ts';
import { validateFile } from '../../src/validate/index.ts';

export const HEADER = 'package "p" version "1.0.0" lang "3.0"\n';

/** Validation diagnostics of `source` (which must parse cleanly) as `file:line:col: message`. */
export function check(source: string, file = 't.ias'): string[] {
  return diagnosticsOf(source, file).map((d) => `${d.file}:${d.line}:${d.column}: ${d.message}`);
}

export function diagnosticsOf(source: string, file = 't.ias'): Diagnostic[] {
  const parsed = parse(source, file);
  if (parsed.diagnostics.length > 0) {
    throw new Error(`test source does not parse: ${parsed.diagnostics.map((d) => `${d.line}:${d.column} ${d.message}`).join('; ')}`);
  }
  return validateFile(parsed.file);
}

/** The hint of the only diagnostic of `source`. */
export function hintOf(source: string): string | undefined {
  const d = diagnosticsOf(source);
  if (d.length !== 1) throw new Error(`expected one diagnostic, got ${d.length}: ${d.map((x) => x.message).join('; ')}`);
  return d[0]?.hint;
}
