import type { Pos } from './ast.ts';

/** One problem found in a spec (parse, structural or semantic). */
export interface Diagnostic {
  file: string;
  line: number;
  column: number;
  message: string;
  hint?: string;
  /** A warning is printed but does not make a spec invalid. */
  severity: 'error' | 'warning';
}

/** The `--format json` shape of a diagnostic. */
export interface DiagnosticJson {
  file: string;
  line: number;
  column: number;
  message: string;
  hint?: string;
  /** Only on warnings (errors keep the original shape). */
  severity?: 'warning';
}

export function diagnostic(file: string, line: number, column: number, message: string, hint?: string): Diagnostic {
  const d: Diagnostic = { file, line, column, message, severity: 'error' };
  if (hint !== undefined && hint !== '') d.hint = hint;
  return d;
}

export function diagnosticAt(file: string, pos: Pos, message: string, hint?: string): Diagnostic {
  return diagnostic(file, pos.line, pos.column, message, hint);
}

export function warningAt(file: string, pos: Pos, message: string, hint?: string): Diagnostic {
  return { ...diagnosticAt(file, pos, message, hint), severity: 'warning' };
}

/** Stable order for reporting: by file, then line, then column (the sort keeps ties in order). */
export function sortDiagnostics(diags: readonly Diagnostic[]): Diagnostic[] {
  return [...diags].sort((a, b) =>
    a.file === b.file ? a.line - b.line || a.column - b.column : a.file < b.file ? -1 : 1,
  );
}

export interface FormatOptions {
  color: boolean;
  /** Source text of a file, to print the offending line with a caret (terminal output). */
  source?: (file: string) => string | undefined;
}

const RED_BOLD = '\u001b[1;31m';
const YELLOW_BOLD = '\u001b[1;33m';
const CYAN = '\u001b[36m';
const GREEN_BOLD = '\u001b[1;32m';
const BOLD = '\u001b[1m';
const RESET = '\u001b[0m';

/**
 * `FILE:LINE:COL: error: MESSAGE` (+ `\n  hint: HINT`), one diagnostic after another, each ending
 * with a newline. With `source`, the offending line and a caret under the column follow.
 */
export function formatDiagnostics(diags: readonly Diagnostic[], opts: FormatOptions): string {
  const paint = (code: string, text: string): string => (opts.color ? code + text + RESET : text);
  const cache = new Map<string, string[] | undefined>();
  const linesOf = (file: string): string[] | undefined => {
    if (!cache.has(file)) cache.set(file, opts.source?.(file)?.split('\n'));
    return cache.get(file);
  };
  let out = '';
  for (const d of diags) {
    const label = d.severity === 'warning' ? paint(YELLOW_BOLD, 'warning:') : paint(RED_BOLD, 'error:');
    out += `${paint(BOLD, `${d.file}:${d.line}:${d.column}:`)} ${label} ${d.message}\n`;
    if (d.hint !== undefined) out += `  ${paint(CYAN, 'hint:')} ${d.hint}\n`;
    if (opts.source === undefined) continue;
    const text = linesOf(d.file)?.[d.line - 1];
    if (text === undefined) continue;
    const line = text.replace(/\r$/, '');
    const runes = [...line];
    // Keep tabs in the padding so the caret lines up with the source line whatever the tab width.
    const pad = runes
      .slice(0, Math.max(0, d.column - 1))
      .map((ch) => (ch === '\t' ? '\t' : ' '))
      .join('');
    out += `  ${line}\n  ${pad}${paint(GREEN_BOLD, '^')}\n`;
  }
  return out;
}

export function diagnosticsToJson(diags: readonly Diagnostic[]): DiagnosticJson[] {
  return diags.map((d) => {
    const j: DiagnosticJson = { file: d.file, line: d.line, column: d.column, message: d.message };
    if (d.hint !== undefined) j.hint = d.hint;
    if (d.severity === 'warning') j.severity = 'warning';
    return j;
  });
}
