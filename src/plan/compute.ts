import type { Attributes, JsonValue, Resource } from '../ir/types.ts';
import type { StateEntry } from '../state/types.ts';

export type ActionKind = 'create' | 'update' | 'delete' | 'noop';

/** One top-level attribute that differs between the last applied version and the spec. */
export interface AttributeChange {
  attribute: string;
  /** Absent when the attribute is new. */
  before?: JsonValue;
  /** Absent when the attribute was removed. */
  after?: JsonValue;
}

export interface PlannedAction {
  action: ActionKind;
  fqn: string;
  /** The package the FQN belongs to (its first segment). */
  package: string;
  /** The desired resource (create, update, noop). */
  resource?: Resource;
  /** The recorded entry (update, delete, noop). */
  entry?: StateEntry;
  /** Why an update is needed when the hash alone does not say it. */
  reason?: string;
  /** Changed attributes, when the previously applied attributes are known. */
  changes?: AttributeChange[];
}

export interface PlanSummary {
  create: number;
  update: number;
  delete: number;
  noop: number;
}

export interface Plan {
  /** Packages the plan covers; entries of other packages in the same state are left alone. */
  packages: string[];
  /** Sorted by FQN. */
  actions: PlannedAction[];
  summary: PlanSummary;
}

export interface PlanInput {
  /** The packages being planned (their resources, possibly none). */
  packages: string[];
  desired: Resource[];
  entries: StateEntry[];
  /** Attributes as last applied, by FQN, to show what an update changes. */
  previous?: ReadonlyMap<string, Attributes>;
}

export function packageOf(fqn: string): string {
  const i = fqn.indexOf('/');
  return i < 0 ? fqn : fqn.slice(0, i);
}

/** Entries that belong to one of `packages` (by the FQN prefix `<package>/`). */
export function entriesOfPackages(entries: readonly StateEntry[], packages: readonly string[]): StateEntry[] {
  const prefixes = packages.map((p) => `${p}/`);
  return entries.filter((e) => prefixes.some((p) => e.fqn.startsWith(p)));
}

function sameJson(a: JsonValue | undefined, b: JsonValue | undefined): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export function attributeChanges(before: Attributes, after: Attributes): AttributeChange[] {
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  const out: AttributeChange[] = [];
  for (const attribute of keys) {
    const b = before[attribute];
    const a = after[attribute];
    if (sameJson(b, a)) continue;
    const change: AttributeChange = { attribute };
    if (b !== undefined) change.before = b;
    if (a !== undefined) change.after = a;
    out.push(change);
  }
  return out;
}

const byFqn = (a: { fqn: string }, b: { fqn: string }): number => (a.fqn < b.fqn ? -1 : a.fqn > b.fqn ? 1 : 0);

/**
 * The diff between the spec and the state (REFERENCE 3.4): a new FQN is created, a different hash
 * is updated, the same hash whose last action did not succeed (failed or pending) is updated, the
 * rest is unchanged; FQNs of the planned packages found only in the state are deleted. Pure.
 */
export function computePlan(input: PlanInput): Plan {
  const scoped = entriesOfPackages(input.entries, input.packages);
  const recorded = new Map(scoped.map((e) => [e.fqn, e]));
  const actions: PlannedAction[] = [];
  const seen = new Set<string>();

  for (const resource of input.desired) {
    if (seen.has(resource.fqn)) continue;
    seen.add(resource.fqn);
    const pkg = packageOf(resource.fqn);
    const entry = recorded.get(resource.fqn);
    if (entry === undefined) {
      actions.push({ action: 'create', fqn: resource.fqn, package: pkg, resource });
      continue;
    }
    if (entry.hash !== resource.hash) {
      const action: PlannedAction = { action: 'update', fqn: resource.fqn, package: pkg, resource, entry };
      const before = input.previous?.get(resource.fqn);
      if (before !== undefined) action.changes = attributeChanges(before, resource.attributes);
      actions.push(action);
      continue;
    }
    if (entry.status !== 'applied') {
      const reason =
        entry.status === 'failed'
          ? `last apply failed${entry.error === undefined ? '' : `: ${entry.error}`}`
          : 'last apply did not finish';
      actions.push({ action: 'update', fqn: resource.fqn, package: pkg, resource, entry, reason });
      continue;
    }
    actions.push({ action: 'noop', fqn: resource.fqn, package: pkg, resource, entry });
  }
  for (const entry of scoped) {
    if (!seen.has(entry.fqn)) actions.push({ action: 'delete', fqn: entry.fqn, package: packageOf(entry.fqn), entry });
  }
  actions.sort(byFqn);

  const summary: PlanSummary = { create: 0, update: 0, delete: 0, noop: 0 };
  for (const a of actions) summary[a.action]++;
  return { packages: [...input.packages].sort(), actions, summary };
}

export function hasChanges(plan: Plan): boolean {
  return plan.summary.create + plan.summary.update + plan.summary.delete > 0;
}
