import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { canonicalJson, compareBytes, contentHash } from '../../src/ir/hash.ts';
import type { JsonValue } from '../../src/ir/types.ts';

const RUNS = process.env.CI === 'true' ? 2000 : 300;

// Plain JSON values (no -0: JSON has no way to say it; Go writes "-0", covered in hash.test.ts).
const json: fc.Arbitrary<JsonValue> = fc.letrec<{ value: JsonValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.string({ unit: 'binary' }),
    fc.boolean(),
    fc.constant(null),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }).filter((n) => !Object.is(n, -0)),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.string({ unit: 'binary' }), tie('value'), { maxKeys: 4 }),
  ),
})).value;

function reverseKeys(v: JsonValue): JsonValue {
  if (Array.isArray(v)) return v.map(reverseKeys);
  if (v !== null && typeof v === 'object') {
    const out: { [k: string]: JsonValue } = {};
    for (const k of Object.keys(v).reverse()) Object.defineProperty(out, k, { value: reverseKeys(v[k] as JsonValue), enumerable: true, writable: true, configurable: true });
    return out;
  }
  return v;
}

test('canonical JSON is valid JSON that reads back to the same value', () => {
  fc.assert(
    fc.property(json, (v) => {
      assert.deepEqual(JSON.parse(canonicalJson(v)), JSON.parse(JSON.stringify(v)));
    }),
    { numRuns: RUNS },
  );
});

test('canonical JSON does not depend on key insertion order; keys come out in byte order', () => {
  fc.assert(
    fc.property(json, (v) => {
      assert.equal(canonicalJson(reverseKeys(v)), canonicalJson(v));
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
        assert.equal(contentHash(reverseKeys(v) as { [k: string]: JsonValue }), contentHash(v));
      }
    }),
    { numRuns: RUNS },
  );
});

test('no raw < > & U+2028 U+2029 survive, and there is no whitespace outside strings', () => {
  fc.assert(
    fc.property(json, (v) => {
      const text = canonicalJson(v);
      assert.doesNotMatch(text, /[<>&\u2028\u2029]/);
      // Strip string literals; what is left has no whitespace.
      assert.doesNotMatch(text.replace(/"(?:[^"\\]|\\.)*"/g, '""'), /\s/);
    }),
    { numRuns: RUNS },
  );
});

test('compareBytes orders like the UTF-8 bytes', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), (a, b) => {
      const expected = Math.sign(Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
      assert.equal(Math.sign(compareBytes(a, b)), expected);
    }),
    { numRuns: RUNS * 3 },
  );
});
