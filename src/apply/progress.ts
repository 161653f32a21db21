import type { StartProgress } from '../adapters/types.ts';
import type { ActionKind } from '../plan/index.ts';

export type { StartProgress };

export interface ActionResult {
  fqn: string;
  action: Exclude<ActionKind, 'noop'>;
  ok: boolean;
  error?: string;
  ms: number;
}

export interface ApplyCounts {
  created: number;
  updated: number;
  deleted: number;
  failed: number;
}

/** Told about each step as it happens (the CLI prints them; tests may collect them). */
export interface ProgressSink {
  packageStarted?(pkg: string, message: string): void;
  runtime?(pkg: string, event: StartProgress): void;
  result?(r: ActionResult): void;
}

const DONE: Record<ActionResult['action'], string> = { create: 'created', update: 'updated', delete: 'destroyed' };
const FAILED: Record<ActionResult['action'], string> = { create: 'create failed', update: 'update failed', delete: 'destroy failed' };
const SYMBOL: Record<ActionResult['action'], string> = { create: '+', update: '~', delete: '-' };
// A failed resource never wears the symbol of the change it did not make.
const FAILED_SYMBOL = 'x';

export function countResults(results: readonly ActionResult[]): ApplyCounts {
  const c: ApplyCounts = { created: 0, updated: 0, deleted: 0, failed: 0 };
  for (const r of results) {
    if (!r.ok) c.failed++;
    else if (r.action === 'create') c.created++;
    else if (r.action === 'update') c.updated++;
    else c.deleted++;
  }
  return c;
}

export function countsLine(c: ApplyCounts): string {
  const failed = c.failed > 0 ? `, ${c.failed} failed` : '';
  return `${c.created} created, ${c.updated} updated, ${c.deleted} destroyed${failed}.`;
}

/** The last line of an apply: `Apply complete! 1 created, 0 updated, 0 destroyed.` */
export function applySummary(c: ApplyCounts): string {
  return `${c.failed > 0 ? 'Apply failed!' : 'Apply complete!'} ${countsLine(c)}`;
}

/** The last line of a destroy: `Destroy complete! 3 destroyed.` */
export function destroySummary(c: ApplyCounts): string {
  const failed = c.failed > 0 ? `, ${c.failed} failed` : '';
  return `${c.failed > 0 ? 'Destroy failed!' : 'Destroy complete!'} ${c.deleted} destroyed${failed}.`;
}

/**
 * One line per distinct failure: the resources of a package fail together with the same cause,
 * which is said once, after the per-resource lines.
 */
export function failureLines(results: readonly ActionResult[]): string[] {
  const seen = new Map<string, string[]>();
  for (const r of results) {
    if (r.ok) continue;
    const pkg = r.fqn.split('/')[0] ?? r.fqn;
    const key = `${pkg}\u0000${r.error ?? 'unknown error'}`;
    seen.set(key, [...(seen.get(key) ?? []), r.fqn]);
  }
  return [...seen.keys()].map((key) => {
    const [pkg, message] = key.split('\u0000') as [string, string];
    // One line on stderr: a message that carries more (a runtime's last log lines) points at them.
    const [first = '', ...rest] = message.split('\n');
    const more = rest.some((l) => l.trim() !== '') ? ` (the runtime's log: \`agentspec logs ${pkg}\`)` : '';
    return `Error: ${pkg}: ${first.replace(/:\s*$/, '')}${more}`;
  });
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

export interface TextProgressOptions {
  /** Output is a terminal: also show a line per second while a runtime becomes healthy. */
  live?: boolean;
}

/** One line per resource with its outcome and time, written as each finishes. */
export function textProgress(write: (text: string) => void, opts: TextProgressOptions = {}): ProgressSink {
  return {
    packageStarted: (pkg, message) => write(`${pkg}: ${message}\n`),
    runtime: (pkg, event) => {
      if (event.kind === 'spawned') write(`${pkg}: runtime process ${event.pid} started, waiting for it to be healthy\n`);
      else if (opts.live === true) write(`${pkg}: still waiting for health... (${event.seconds}s)\n`);
    },
    result: (r) => {
      const symbol = r.ok ? SYMBOL[r.action] : FAILED_SYMBOL;
      const outcome = r.ok ? DONE[r.action] : FAILED[r.action];
      write(`  ${symbol} ${r.fqn}: ${outcome} (${seconds(r.ms)})\n`);
    },
  };
}
