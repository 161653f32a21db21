import { contentHash } from './hash.ts';
import { setOwn } from './json.ts';
import { EnvironmentNotFoundError, EnvironmentOverrideError } from './errors.ts';
import type { Attributes, IRDocument, JsonValue, Resource } from './types.ts';

/**
 * Attributes that hold floats even when their value happens to be integral (`temperature 1`
 * lowers to the JSON number 1, which alone cannot tell an int from a float).
 */
const FLOAT_ATTRIBUTES: Record<string, ReadonlySet<string>> = {
  Agent: new Set(['temperature']),
};

/** Kind words an override may use besides the kind name itself (`server/x` means MCPServer x). */
const KIND_ALIASES: Record<string, string> = {
  server: 'mcpserver',
  client: 'mcpclient',
};

interface Override {
  resource: string;
  attribute: string;
  value: string;
}

function readOverrides(env: Resource): Override[] {
  const raw = env.attributes.overrides;
  if (!Array.isArray(raw)) return [];
  const out: Override[] = [];
  for (const o of raw) {
    if (o === null || typeof o !== 'object' || Array.isArray(o)) continue;
    out.push({ resource: String(o.resource ?? ''), attribute: String(o.attribute ?? ''), value: String(o.value ?? '') });
  }
  return out;
}

function normalizeTarget(target: string): string {
  const slash = target.indexOf('/');
  if (slash < 0) return target.toLowerCase();
  const kind = target.slice(0, slash).toLowerCase();
  return (KIND_ALIASES[kind] ?? kind) + target.slice(slash).toLowerCase();
}

/** Exact `Kind/name` match first; else case-insensitive, with `server`/`client` as kind aliases. */
function findTarget(resources: Resource[], target: string): number {
  const exact = resources.findIndex((r) => `${r.kind}/${r.name}` === target);
  if (exact >= 0) return exact;
  const wanted = normalizeTarget(target);
  return resources.findIndex((r) => `${r.kind}/${r.name}`.toLowerCase() === wanted);
}

const INT_RE = /^[+-]?\d+$/;
const FLOAT_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Convert an override's text to the type of the attribute it replaces. */
function convertValue(envName: string, o: Override, kind: string, current: JsonValue | undefined): JsonValue {
  if (current === undefined) return o.value;
  const fail = (expected: string): never => {
    throw new EnvironmentOverrideError(
      `environment "${envName}": override ${o.resource} ${o.attribute}: value "${o.value}" is not ${expected}, ` +
        `like the attribute it replaces`,
      { environment: envName, target: o.resource, attribute: o.attribute, value: o.value },
    );
  };
  switch (typeof current) {
    case 'string':
      return o.value;
    case 'boolean':
      if (o.value === 'true') return true;
      if (o.value === 'false') return false;
      return fail('a bool (true or false)');
    case 'number': {
      if (FLOAT_ATTRIBUTES[kind]?.has(o.attribute) === true) {
        const n = Number(o.value);
        if (!FLOAT_RE.test(o.value) || !Number.isFinite(n)) return fail('a number');
        return n;
      }
      const n = Number(o.value);
      if (!INT_RE.test(o.value) || !Number.isSafeInteger(n)) return fail('an integer');
      return n;
    }
    default:
      throw new EnvironmentOverrideError(
        `environment "${envName}": override ${o.resource} ${o.attribute}: value "${o.value}" cannot replace ` +
          `a ${Array.isArray(current) ? 'list' : 'block'} attribute`,
        { environment: envName, target: o.resource, attribute: o.attribute, value: o.value },
      );
  }
}

/**
 * Apply the overrides of environment `envName` (REFERENCE 3.5 with the project's decisions):
 * each override replaces one attribute of its target, keeping that attribute's type (new keys are
 * strings), the target's hash is recomputed, and Environment resources are removed from the
 * result. An empty name leaves the document as it is. The input document is not modified.
 */
export function applyEnvironment(doc: IRDocument, envName: string | undefined): IRDocument {
  if (envName === undefined || envName === '') return doc;
  const resources = doc.resources ?? [];
  const env = resources.find((r) => r.kind === 'Environment' && r.name === envName);
  if (env === undefined) {
    throw new EnvironmentNotFoundError(
      envName,
      resources.filter((r) => r.kind === 'Environment').map((r) => r.name),
    );
  }
  const working = resources.slice();
  const touched = new Set<number>();
  for (const o of readOverrides(env)) {
    const index = findTarget(working, o.resource);
    if (index < 0) {
      throw new EnvironmentOverrideError(`environment "${envName}": override target "${o.resource}" not found`, {
        environment: envName,
        target: o.resource,
        attribute: o.attribute,
        value: o.value,
      });
    }
    const target = working[index] as Resource;
    const attributes: Attributes = { ...target.attributes };
    const current = Object.hasOwn(target.attributes, o.attribute) ? target.attributes[o.attribute] : undefined;
    setOwn(attributes, o.attribute, convertValue(envName, o, target.kind, current));
    working[index] = { ...target, attributes };
    touched.add(index);
  }
  for (const i of touched) {
    const r = working[i] as Resource;
    r.hash = contentHash(r.attributes);
  }
  const kept = working.filter((r) => r.kind !== 'Environment');
  return { ...doc, resources: kept.length > 0 ? kept : null };
}
