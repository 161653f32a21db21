import type { Redactor } from './redact.ts';
import { validateAgainst } from './schema.ts';
import { truncationNote } from './limits.ts';
import type { ProcessResult } from './process.ts';
import type { ToolOutcome, ToolSpec } from './types.ts';

export function errorOutcome(text: string, redactor: Redactor, bytes = 0): ToolOutcome {
  return { content: redactor.redact(text), is_error: true, truncated: false, bytes };
}

/** The input as an object when it fits the schema, else the error outcome naming the field. */
export function checkInput(spec: ToolSpec, input: unknown, redactor: Redactor): { ok: Record<string, unknown> } | { outcome: ToolOutcome } {
  const value = input ?? {};
  const problem = validateAgainst(spec.input_schema, value);
  if (problem !== undefined) return { outcome: errorOutcome(`invalid arguments for "${spec.name}": ${problem}`, redactor) };
  return { ok: value as Record<string, unknown> };
}

function tail(text: string, max = 4000): string {
  const t = text.trim();
  return t.length <= max ? t : `...${t.slice(t.length - max)}`;
}

/** What a finished command/inline process means for the model. */
export function processOutcome(r: ProcessResult, timeoutMs: number, redactor: Redactor, what: string): ToolOutcome {
  if (r.spawnError !== undefined) return errorOutcome(`${what} could not be started: ${r.spawnError}`, redactor);
  if (r.timedOut) {
    const partial = r.stdout === '' ? '' : `\npartial output:\n${tail(r.stdout)}`;
    return errorOutcome(`${what} timed out after ${timeoutMs}ms and was killed${partial}`, redactor, r.bytes);
  }
  if (r.truncated) {
    return { content: redactor.redact(r.stdout + truncationNote(Buffer.byteLength(r.stdout), r.bytes)), is_error: false, truncated: true, bytes: r.bytes };
  }
  if (r.exitCode !== 0) {
    const how = r.exitCode === null ? `was killed by ${r.exitSignal ?? 'a signal'}` : `exited with code ${r.exitCode}`;
    const stderr = r.stderr.trim() === '' ? '' : `\nstderr:\n${tail(r.stderr)}`;
    const stdout = r.stdout.trim() === '' ? '' : `\nstdout:\n${tail(r.stdout, 2000)}`;
    return errorOutcome(`${what} ${how}${stderr}${stdout}`, redactor, r.bytes);
  }
  return { content: redactor.redact(r.stdout), is_error: false, truncated: false, bytes: r.bytes };
}
