import type { JsonValue } from '../ir/types.ts';
import { hasChanges, type ActionKind, type Plan, type PlannedAction } from './compute.ts';

export interface RenderOptions {
  color?: boolean;
  /** Also list unchanged resources. */
  verbose?: boolean;
  /** Label per package, e.g. `target "local" (process)`. */
  targets?: ReadonlyMap<string, string>;
  /** The plan of a destroy: its summary speaks of what is destroyed. */
  destroy?: boolean;
}

const SYMBOL: Record<ActionKind, string> = { create: '+', update: '~', delete: '-', noop: ' ' };
const COLOR: Record<ActionKind, string> = { create: '32', update: '33', delete: '31', noop: '2' };
const MAX_VALUE = 120;

function paint(on: boolean, code: string, text: string): string {
  return on ? `\u001b[${code}m${text}\u001b[0m` : text;
}

function shortJson(v: JsonValue | undefined): string {
  if (v === undefined) return '(none)';
  const s = JSON.stringify(v);
  return s.length > MAX_VALUE ? `${s.slice(0, MAX_VALUE - 1)}…` : s;
}

function actionLines(a: PlannedAction, color: boolean): string[] {
  const lines = [`  ${paint(color, COLOR[a.action], `${SYMBOL[a.action]} ${a.fqn}`)}`];
  if (a.action !== 'update') return lines;
  if (a.reason !== undefined) lines.push(`      (${a.reason})`);
  if (a.changes !== undefined) {
    for (const c of a.changes) lines.push(`      ${c.attribute}: ${shortJson(c.before)} -> ${shortJson(c.after)}`);
  } else if (a.reason === undefined) {
    lines.push('      (attributes changed; the previously applied values are not known)');
  }
  return lines;
}

export function summaryLine(plan: Plan, opts: Pick<RenderOptions, 'destroy'> = {}): string {
  const s = plan.summary;
  if (opts.destroy === true) return hasChanges(plan) ? `Plan: ${s.delete} to destroy.` : 'No changes. Nothing is deployed for these packages.';
  if (!hasChanges(plan)) return 'No changes. The deployment matches the spec.';
  return `Plan: ${s.create} to create, ${s.update} to update, ${s.delete} to delete, ${s.noop} unchanged.`;
}

/**
 * The plan for a person: one line per action (unchanged ones only when verbose) and a summary.
 * Packages without changes are left out unless verbose, so a plan with nothing to do is one line.
 */
export function renderPlan(plan: Plan, opts: RenderOptions = {}): string {
  const color = opts.color === true;
  const verbose = opts.verbose === true;
  const out: string[] = [];
  for (const pkg of plan.packages) {
    const actions = plan.actions.filter((a) => a.package === pkg && (verbose || a.action !== 'noop'));
    if (actions.length === 0 && !verbose) continue;
    const label = opts.targets?.get(pkg);
    out.push(`Package ${pkg}${label === undefined ? '' : ` -> ${label}`}:`);
    if (actions.length === 0) out.push('  (nothing deployed)');
    for (const a of actions) out.push(...actionLines(a, color));
    out.push('');
  }
  out.push(summaryLine(plan, opts));
  return `${out.join('\n')}\n`;
}

/** The plan for machines (`--json`): stable keys, no colors. */
export function planToJson(plan: Plan): Record<string, unknown> {
  return {
    format_version: '1',
    packages: plan.packages,
    changes: hasChanges(plan),
    summary: plan.summary,
    actions: plan.actions.map((a) => {
      const o: Record<string, unknown> = { action: a.action, fqn: a.fqn, package: a.package };
      if (a.resource !== undefined) {
        o.kind = a.resource.kind;
        o.name = a.resource.name;
        o.hash = a.resource.hash;
      }
      if (a.entry !== undefined) o.previous_hash = a.entry.hash;
      if (a.reason !== undefined) o.reason = a.reason;
      if (a.changes !== undefined) o.changes = a.changes;
      return o;
    }),
  };
}
