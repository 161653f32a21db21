import { createHash } from 'node:crypto';
import type { Attributes, JsonValue } from './types.ts';

/**
 * Byte order of the UTF-8 encodings, which is code point order. JavaScript's default string
 * comparison orders UTF-16 code units instead, which differs for astral characters; state files
 * written by the original implementation sorted by bytes, so we must too.
 */
export function compareBytes(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    if (ca === cb) continue;
    const surrogateA = ca >= 0xd800 && ca <= 0xdfff;
    const surrogateB = cb >= 0xd800 && cb <= 0xdfff;
    // A surrogate half stands for a code point above U+FFFF, which sorts after every BMP character.
    if (surrogateA !== surrogateB) return surrogateA ? 1 : -1;
    return ca < cb ? -1 : 1;
  }
  return a.length - b.length;
}

// Go's encoder escapes these for safe embedding in HTML/JS; JSON.stringify does not.
const GO_ESCAPES: Record<string, string> = {
  '<': '\\u003c',
  '>': '\\u003e',
  '&': '\\u0026',
  '\u2028': '\\u2028',
  '\u2029': '\\u2029',
};
const GO_ESCAPE_RE = /[<>&\u2028\u2029]/g;

function write(value: JsonValue | undefined, out: string[]): void {
  if (value === null || value === undefined) {
    out.push('null');
  } else if (Array.isArray(value)) {
    out.push('[');
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out.push(',');
      write(value[i], out);
    }
    out.push(']');
  } else if (typeof value === 'object') {
    const keys = Object.keys(value)
      .filter((k) => value[k] !== undefined)
      .sort(compareBytes);
    out.push('{');
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string;
      if (i > 0) out.push(',');
      out.push(JSON.stringify(key), ':');
      write(value[key], out);
    }
    out.push('}');
  } else if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`cannot encode ${value} as JSON`);
    // Go writes negative zero as "-0"; JSON.stringify drops the sign.
    out.push(Object.is(value, -0) ? '-0' : JSON.stringify(value));
  } else {
    out.push(JSON.stringify(value));
  }
}

/**
 * The canonical JSON text the content hash is computed over: Go `encoding/json` compact output
 * with every object's keys sorted by bytes, including Go's escaping of `< > &` and U+2028/U+2029.
 * Go's float formatting switches to exponent form at the same thresholds as JavaScript's
 * (below 1e-6 and from 1e21), with the same exponent spelling, so numbers need no rewriting.
 */
export function canonicalJson(value: JsonValue): string {
  let text: string;
  if (inByteOrder(value)) {
    // Already canonical key order (lowering sorts attributes): the native encoder gives the same text.
    text = JSON.stringify(value);
  } else {
    const out: string[] = [];
    write(value, out);
    text = out.join('');
  }
  return text.replace(GO_ESCAPE_RE, (c) => GO_ESCAPES[c] as string);
}

/**
 * True when JSON.stringify would already write `value` canonically: every object's keys, in the
 * order the engine enumerates them (integer-like keys first), are in byte order, and no value
 * needs special handling (undefined, -0, non-finite numbers).
 */
function inByteOrder(value: JsonValue | undefined): boolean {
  if (value === undefined) return false;
  if (typeof value === 'number') return Number.isFinite(value) && !Object.is(value, -0);
  if (value === null || typeof value !== 'object') return true;
  if (Array.isArray(value)) {
    for (const v of value) if (!inByteOrder(v)) return false;
    return true;
  }
  let previous: string | undefined;
  for (const key in value) {
    if (previous !== undefined && compareBytes(previous, key) >= 0) return false;
    previous = key;
    if (!inByteOrder(value[key])) return false;
  }
  return true;
}

/** `sha256:<hex>` of the canonical JSON of a resource's attributes. */
export function contentHash(attributes: Attributes): string {
  return 'sha256:' + createHash('sha256').update(canonicalJson(attributes), 'utf8').digest('hex');
}
