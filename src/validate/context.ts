import type { File, Pos, Statement } from '../lang/ast.ts';
import { diagnosticAt, type Diagnostic } from '../lang/diagnostics.ts';

/**
 * What a validation pass looks at: the root file (its header and path) and the statements to
 * check, which include those merged in from imports. `fileOf` names the file a statement was
 * written in, so that a diagnostic points into the imported file where the problem is.
 */
export interface ValidationInput {
  file: File;
  statements: readonly Statement[];
  fileOf?: (stmt: Statement) => string;
}

/** Collects diagnostics for one statement's file. */
export class Reporter {
  readonly diagnostics: Diagnostic[] = [];
  private readonly input: ValidationInput;

  constructor(input: ValidationInput) {
    this.input = input;
  }

  fileOf(stmt: Statement | undefined): string {
    if (stmt === undefined) return this.input.file.path;
    return this.input.fileOf?.(stmt) ?? this.input.file.path;
  }

  at(stmt: Statement | undefined, pos: Pos, message: string, hint?: string): void {
    this.diagnostics.push(diagnosticAt(this.fileOf(stmt), pos, message, hint));
  }
}

/** Go's `%q` for the plain names and values that appear in messages. */
export function q(s: string): string {
  return JSON.stringify(s);
}

/**
 * Go's `%.1f`: the exact binary value rounded to one decimal, halfway cases to even (0.25 -> 0.2).
 * `toFixed` rounds exact halves up, so those are detected on the exact decimal expansion.
 */
export function f1(n: number): string {
  const sign = n < 0 ? '-' : '';
  const abs = Math.abs(n);
  if (abs >= 1e21) return `${sign}${BigInt(abs)}.0`;
  const [int = '0', frac = ''] = abs.toFixed(100).split('.');
  const first = frac.charCodeAt(0) - 48;
  const exactHalf = frac[1] === '5' && /^0*$/.test(frac.slice(2));
  if (exactHalf && first % 2 === 0) return `${sign}${int}.${first}`;
  return sign + abs.toFixed(1);
}
