import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { STATE_FORMAT_VERSION, type State, type StateEntry } from './types.ts';

type Zod = (typeof import('zod'))['z'];

/*
 * Unknown fields are kept (loose objects): a state written by a newer agentspec that added a field
 * must not read as "corrupt" and trigger a fall-back to an older backup. Unknown entry fields survive
 * a load -> save round trip because callers pass the loaded entries back; unknown top-level fields are
 * not carried over (the top level is owned by the backend).
 */
// zod is loaded on the first parse, not at import: commands that never read a state (`--version`,
// `validate`, `fmt`) would otherwise pay for it at every start.
function buildSchemas(z: Zod) {
  const runtimeSchema = z.looseObject({
    pid: z.int().nonnegative(),
    port: z.int().min(0).max(65535),
    endpoint: z.string(),
    started_at: z.string(),
  });

  // A status this version does not know (the original agentspec writes `orphaned`) is kept as it is:
  // refusing it would make a good state look corrupt and bring back an older backup.
  const entrySchema = z.looseObject({
    fqn: z.string().min(1),
    hash: z.string(),
    status: z.string().min(1),
    last_applied: z.string(),
    adapter: z.string(),
    error: z.string().optional(),
    runtime: runtimeSchema.optional(),
  });

  // serial and lineage are optional only so that files from the original implementation
  // ({"version":"1.0","entries":[...]}) still load; they are added on the next save.
  const stateSchema = z.looseObject({
    version: z.string().regex(/^\d+\.\d+$/, 'version must look like "1.0"'),
    serial: z.int().nonnegative().optional(),
    lineage: z.string().min(1).optional(),
    // The original agentspec writes `null` for a state without entries.
    entries: z.array(entrySchema).nullable(),
  });
  return { state: stateSchema, entries: z.array(entrySchema), prettifyError: z.prettifyError };
}

let cached: ReturnType<typeof buildSchemas> | undefined;

function schemas(): ReturnType<typeof buildSchemas> {
  cached ??= buildSchemas((createRequire(import.meta.url)('zod') as typeof import('zod')).z);
  return cached;
}

export const entriesSchema = {
  safeParse: (v: unknown) => schemas().entries.safeParse(v),
};

/**
 * Not JSON at all (`syntax`: a torn or garbled file, its backup may stand in), or valid JSON in the
 * wrong shape (`schema`: written on purpose by someone; never replaced automatically). `field` names
 * the first offending field of a schema error, like `entries[2].status`.
 */
export class StateFormatError extends Error {
  readonly kind: 'syntax' | 'schema';
  readonly field: string | undefined;

  constructor(message: string, options?: { cause?: unknown; kind?: 'syntax' | 'schema'; field?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StateFormatError';
    this.kind = options?.kind ?? 'syntax';
    this.field = options?.field;
  }
}

function fieldPath(parts: readonly PropertyKey[]): string {
  let out = '';
  for (const p of parts) out += typeof p === 'number' ? `[${p}]` : `${out === '' ? '' : '.'}${String(p)}`;
  return out === '' ? '(top level)' : out;
}

/** A well-formed state whose major version is newer than this code understands (not corruption). */
export class UnsupportedVersionError extends Error {
  constructor(readonly version: string) {
    super(`unsupported state format version ${version}`);
    this.name = 'UnsupportedVersionError';
  }
}

export interface ParsedState {
  state: State;
  /** The file had no lineage (original format); any lineage may be written over it. */
  legacy: boolean;
}

export function newLineage(): string {
  return randomUUID();
}

export function emptyState(lineage: string = newLineage()): State {
  return { version: STATE_FORMAT_VERSION, serial: 0, lineage, entries: [] };
}

function byFqn(a: StateEntry, b: StateEntry): number {
  return a.fqn < b.fqn ? -1 : a.fqn > b.fqn ? 1 : 0;
}

function duplicateFqn(sorted: StateEntry[]): string | undefined {
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.fqn === sorted[i - 1]!.fqn) return sorted[i]!.fqn;
  }
  return undefined;
}

/**
 * Parse and schema-check state bytes. Throws StateFormatError for anything that is not a valid
 * state, UnsupportedVersionError for a newer major format.
 */
export function parseState(text: string): ParsedState {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new StateFormatError(`invalid JSON: ${(err as Error).message}`, { cause: err });
  }
  const r = schemas().state.safeParse(raw);
  if (!r.success) {
    const field = fieldPath(r.error.issues[0]?.path ?? []);
    throw new StateFormatError(`invalid state: ${schemas().prettifyError(r.error).replace(/\n/g, '; ')}`, { kind: 'schema', field });
  }
  const major = r.data.version.split('.')[0];
  if (major !== STATE_FORMAT_VERSION.split('.')[0]) throw new UnsupportedVersionError(r.data.version);
  const entries = ((r.data.entries ?? []) as StateEntry[]).slice().sort(byFqn);
  const dup = duplicateFqn(entries);
  if (dup !== undefined) {
    const at = (raw as { entries: Array<{ fqn?: unknown }> }).entries.findLastIndex((e) => e.fqn === dup);
    throw new StateFormatError(`invalid state: entry ${dup} appears twice`, { kind: 'schema', field: `entries[${at}].fqn` });
  }
  const legacy = r.data.lineage === undefined;
  return {
    state: {
      version: r.data.version,
      serial: r.data.serial ?? 0,
      lineage: r.data.lineage ?? newLineage(),
      entries,
    },
    legacy,
  };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isNonNegInt(v: unknown): boolean {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/**
 * The entry schema as a plain loop: save() runs on every apply step with up to tens of thousands of
 * entries, and this is an order of magnitude cheaper than the schema parse. It accepts exactly what
 * `entrySchema` accepts (a property test holds the two together); any reject is re-checked with the
 * schema for its message.
 */
export function entriesLookValid(entries: unknown): boolean {
  if (!Array.isArray(entries)) return false;
  for (const e of entries as unknown[]) {
    if (!isPlainObject(e)) return false;
    if (typeof e.fqn !== 'string' || e.fqn.length === 0) return false;
    if (typeof e.hash !== 'string' || typeof e.status !== 'string' || e.status.length === 0) return false;
    if (typeof e.last_applied !== 'string' || typeof e.adapter !== 'string') return false;
    if (e.error !== undefined && typeof e.error !== 'string') return false;
    const rt = e.runtime;
    if (rt !== undefined) {
      if (!isPlainObject(rt) || !isNonNegInt(rt.pid) || !isNonNegInt(rt.port) || (rt.port as number) > 65535) return false;
      if (typeof rt.endpoint !== 'string' || typeof rt.started_at !== 'string') return false;
    }
  }
  return true;
}

/** Check entries a caller wants to save, sorted; returns an error text or the sorted copy. */
export function checkEntries(entries: StateEntry[]): { ok: true; sorted: StateEntry[] } | { ok: false; error: string } {
  if (!entriesLookValid(entries)) {
    const r = schemas().entries.safeParse(entries);
    const detail = r.success ? 'rejected by the entry check' : schemas().prettifyError(r.error).replace(/\n/g, '; ');
    return { ok: false, error: `invalid entries: ${detail}` };
  }
  const sorted = entries.slice().sort(byFqn);
  const dup = duplicateFqn(sorted);
  if (dup !== undefined) return { ok: false, error: `entry ${dup} appears twice` };
  return { ok: true, sorted };
}

const ENTRY_KEYS = ['fqn', 'hash', 'status', 'last_applied', 'adapter', 'error', 'runtime'] as const;
const RUNTIME_KEYS = ['pid', 'port', 'endpoint', 'started_at'] as const;

// Fixed key order (known keys first, unknown ones sorted) so that equal states are equal bytes
// whatever order the caller built its objects in.
function canonical(obj: Record<string, unknown>, known: readonly string[], nested?: Record<string, readonly string[]>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of known) {
    const v = obj[k];
    if (v === undefined) continue;
    const sub = nested?.[k];
    out[k] = sub !== undefined && v !== null && typeof v === 'object' ? canonical(v as Record<string, unknown>, sub) : v;
  }
  for (const k of Object.keys(obj).filter((key) => !known.includes(key)).sort()) {
    if (obj[k] !== undefined) out[k] = obj[k];
  }
  return out;
}

/** The exact bytes of a state file: canonical key order, entries sorted, 2-space JSON, trailing newline. */
export function serializeState(state: State): string {
  const entries = state.entries
    .slice()
    .sort(byFqn)
    .map((e) => canonical(e as unknown as Record<string, unknown>, ENTRY_KEYS, { runtime: RUNTIME_KEYS }));
  const doc = { version: state.version, serial: state.serial, lineage: state.lineage, entries };
  return `${JSON.stringify(doc, null, 2)}\n`;
}
