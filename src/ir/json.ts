import type { KvBlock } from '../lang/ast.ts';
import { compareBytes } from './hash.ts';
import type { JsonValue } from './types.ts';

/**
 * A copy of `value` whose objects have their keys inserted in byte order, so that printing it
 * gives the same key order the original implementation's maps printed with. (JavaScript still
 * enumerates integer-like keys first; that only affects how the IR is printed, never its hash.)
 */
/**
 * Set an own enumerable property, even for a key like `__proto__` (a plain assignment would change
 * the object's prototype instead, and the key would silently vanish from the IR and its hash).
 */
export function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  // `__proto__` is the only accessor on Object.prototype; every other key assigns as an own property.
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

export function sortKeysDeep<T extends JsonValue>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => sortKeysDeep(v)) as T;
  if (value !== null && typeof value === 'object') {
    const out: { [key: string]: JsonValue } = {};
    for (const key of Object.keys(value).sort(compareBytes)) setOwn(out, key, sortKeysDeep(value[key] as JsonValue));
    return out as T;
  }
  return value;
}

/** A string map with its keys in byte order. */
export function sortedRecord(record: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of Object.keys(record).sort(compareBytes)) setOwn(out, key, record[key] as string);
  return out;
}

/** The entries of a map-like block, last one winning, keys in byte order. */
export function recordOf(block: KvBlock | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of block?.entries ?? []) setOwn(out, e.key, e.value);
  return sortedRecord(out);
}
