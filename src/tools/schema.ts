import type { JsonValue, Resource } from '../ir/types.ts';
import { attrString as str } from '../ir/attributes.ts';

export type JsonSchema = Record<string, unknown>;


function fieldsOf(raw: JsonValue | undefined): Array<{ name: string; type: string; required: boolean }> {
  const out: Array<{ name: string; type: string; required: boolean }> = [];
  for (const f of Array.isArray(raw) ? raw : []) {
    if (typeof f !== 'object' || f === null || Array.isArray(f)) continue;
    const name = str(f.name);
    if (name === undefined || name === '') continue;
    out.push({ name, type: str(f.type) ?? 'string', required: f.required === true });
  }
  return out;
}

/**
 * JSON Schemas for IntentLang field types: the built-in scalars, `list`, and the package's
 * `type` blocks (enums, lists of a type, records). An unknown name is described, not enforced.
 */
export class SchemaBuilder {
  private readonly types: ReadonlyMap<string, Resource>;

  constructor(types: Iterable<Resource>) {
    this.types = new Map([...types].map((t) => [t.name, t]));
  }

  forType(type: string, seen: ReadonlySet<string> = new Set()): JsonSchema {
    switch (type.toLowerCase()) {
      case 'string':
        return { type: 'string' };
      case 'int':
      case 'integer':
        return { type: 'integer' };
      case 'float':
      case 'number':
        return { type: 'number' };
      case 'bool':
      case 'boolean':
        return { type: 'boolean' };
      case 'list':
      case 'array':
        return { type: 'array' };
      case 'object':
      case 'map':
        return { type: 'object' };
    }
    const declared = this.types.get(type);
    // A type that refers to itself (directly or not) is left open past the first level.
    if (declared === undefined || seen.has(type)) return { description: `a ${type} value` };
    const inner = new Set(seen).add(type);
    const a = declared.attributes;
    if (Array.isArray(a.enum)) return { type: 'string', enum: a.enum.filter((v) => typeof v === 'string') };
    const listOf = str(a.list_of);
    if (listOf !== undefined) return { type: 'array', items: this.forType(listOf, inner) };
    return this.object(fieldsOf(a.fields), inner);
  }

  /** The `input` fields of a skill as an object schema. */
  forFields(raw: JsonValue | undefined): JsonSchema {
    return this.object(fieldsOf(raw), new Set());
  }

  private object(fields: Array<{ name: string; type: string; required: boolean }>, seen: ReadonlySet<string>): JsonSchema {
    const properties: Record<string, JsonSchema> = {};
    const required: string[] = [];
    for (const f of fields) {
      properties[f.name] = this.forType(f.type, seen);
      if (f.required) required.push(f.name);
    }
    const schema: JsonSchema = { type: 'object', properties };
    if (required.length > 0) schema.required = required;
    return schema;
  }
}

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function matchesType(expected: unknown, v: unknown): boolean {
  const actual = typeOf(v);
  if (expected === 'number') return actual === 'number' || actual === 'integer';
  return expected === actual;
}

/**
 * Check `value` against the subset of JSON Schema our schemas (and most MCP tools') use: type,
 * properties, required, enum, items. Returns the first problem, naming the field, or undefined.
 */
export function validateAgainst(schema: JsonSchema, value: unknown, path = ''): string | undefined {
  const where = path === '' ? 'input' : path;
  const types = Array.isArray(schema.type) ? schema.type : schema.type === undefined ? undefined : [schema.type];
  if (types !== undefined && !types.some((t) => matchesType(t, value))) {
    return `${where}: expected ${types.join(' or ')}, got ${typeOf(value)}`;
  }
  if (Array.isArray(schema.enum) && !schema.enum.some((e) => e === value)) {
    return `${where}: must be one of ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}`;
  }
  if (typeOf(value) === 'object') {
    const obj = value as Record<string, unknown>;
    for (const r of Array.isArray(schema.required) ? schema.required : []) {
      if (typeof r === 'string' && (obj[r] === undefined || obj[r] === null)) return `${path === '' ? r : `${path}.${r}`}: required field is missing`;
    }
    const props = (schema.properties ?? {}) as Record<string, JsonSchema>;
    for (const [k, v] of Object.entries(obj)) {
      const sub = props[k];
      if (sub === undefined || v === undefined) continue;
      const err = validateAgainst(sub, v, path === '' ? k : `${path}.${k}`);
      if (err !== undefined) return err;
    }
  }
  if (Array.isArray(value) && typeof schema.items === 'object' && schema.items !== null) {
    for (let i = 0; i < value.length; i++) {
      const err = validateAgainst(schema.items as JsonSchema, value[i], `${where}[${i}]`);
      if (err !== undefined) return err;
    }
  }
  return undefined;
}
