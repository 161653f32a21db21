import type { ActionKind } from '../plan/index.ts';

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
  result?(r: ActionResult): void;
}

const DONE: Record<ActionResult['action'], string> = { create: 'created', update: 'updated', delete: 'deleted' };
const SYMBOL: Record<ActionResult['action'], string> = { create: '+', update: '~', delete: '-' };

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
  return `${c.created} created, ${c.updated} updated, ${c.deleted} deleted, ${c.failed} failed`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/** One line per resource with its outcome and time, written as each finishes. */
export function textProgress(write: (text: string) => void): ProgressSink {
  return {
    packageStarted: (pkg, message) => write(`${pkg}: ${message}\n`),
    result: (r) => {
      const outcome = r.ok ? DONE[r.action] : `FAILED: ${r.error ?? 'unknown error'}`;
      write(`  ${SYMBOL[r.action]} ${r.fqn}: ${outcome} (${seconds(r.ms)})\n`);
    },
  };
}
