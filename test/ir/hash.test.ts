import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson, compareBytes, contentHash } from '../../src/ir/hash.ts';

test('REFERENCE 3.4 vector: a prompt with plain content', () => {
  assert.equal(
    contentHash({ content: 'You are a helpful assistant.' }),
    'sha256:677ceb766288e457f77d7a039b4a741255be3d956d61af6ac2f750df7e6d69ef',
  );
});

test('REFERENCE 3.4 vector: basic-agent helper, keys sorted whatever the insertion order', () => {
  const attributes = {
    model: 'claude-sonnet-4-20250514',
    prompt: 'system',
    strategy: 'react',
    max_turns: 10,
    timeout: '30s',
    token_budget: 100000,
    stream: true,
    on_error: 'retry',
    max_retries: 2,
  };
  assert.equal(
    canonicalJson(attributes),
    '{"max_retries":2,"max_turns":10,"model":"claude-sonnet-4-20250514","on_error":"retry","prompt":"system","strategy":"react","stream":true,"timeout":"30s","token_budget":100000}',
  );
  assert.equal(contentHash(attributes), 'sha256:df195f21223f89fed5f94b6194c5dc0c99545915fb39c5fc591e2135f7899dd5');
});

test('REFERENCE 3.4 vector: Go escaping of < > & and backslashes', () => {
  const content = 'x < y & z \\d \\q\nsecond line';
  assert.equal(canonicalJson({ content }), '{"content":"x \\u003c y \\u0026 z \\\\d \\\\q\\nsecond line"}');
});

test('canonical JSON: U+2028/U+2029, controls, non-ASCII, nesting, null', () => {
  assert.equal(canonicalJson({ s: 'a\u2028b\u2029c>' }), '{"s":"a\\u2028b\\u2029c\\u003e"}');
  assert.equal(canonicalJson({ s: '\b\f\r\t\u0001\u001f' }), '{"s":"\\b\\f\\r\\t\\u0001\\u001f"}');
  assert.equal(canonicalJson({ s: 'héllo 日本' }), '{"s":"héllo 日本"}');
  assert.equal(
    canonicalJson({ b: [{ z: 1, a: null }, 'x'], a: { d: false, c: 0.7 } }),
    '{"a":{"c":0.7,"d":false},"b":[{"a":null,"z":1},"x"]}',
  );
  assert.equal(canonicalJson({ x: [] }), '{"x":[]}');
  assert.equal(canonicalJson({}), '{}');
});

test('canonical JSON: numbers as Go writes float64 (shortest round-trip, exponent thresholds)', () => {
  assert.equal(canonicalJson([1.0, 0.7, 2, -0.5, 1e21, 1e-7, 123456789012, 0.000001]), '[1,0.7,2,-0.5,1e+21,1e-7,123456789012,0.000001]');
  assert.equal(canonicalJson([-0]), '[-0]');
});

test('keys sort by UTF-8 bytes, not UTF-16 code units', () => {
  // U+FF01 is one UTF-16 unit above the surrogates, but its UTF-8 bytes sort before U+1F600's.
  const keys = ['\u{1F600}', '\uFF01', 'a', 'B'];
  assert.deepEqual([...keys].sort(compareBytes), ['B', 'a', '\uFF01', '\u{1F600}']);
  assert.equal(canonicalJson({ '\u{1F600}': 1, '\uFF01': 2 }), '{"\uFF01":2,"\u{1F600}":1}');
  assert.equal(compareBytes('ab', 'abc') < 0, true);
  assert.equal(compareBytes('abc', 'abc'), 0);
});

test('equal attributes give equal hashes, any change gives another', () => {
  assert.equal(contentHash({ a: 1, b: 'x' }), contentHash({ b: 'x', a: 1 }));
  assert.notEqual(contentHash({ a: 1 }), contentHash({ a: '1' }));
  assert.match(contentHash({}), /^sha256:[0-9a-f]{64}$/);
});

test('integer-like keys (which JavaScript enumerates first, numerically) still sort by bytes', () => {
  assert.equal(canonicalJson({ a: 3, '9': 2, '10': 1 }), '{"10":1,"9":2,"a":3}');
  assert.equal(canonicalJson({ '10': 1, '9': 2, a: 3 }), '{"10":1,"9":2,"a":3}');
  assert.equal(canonicalJson({ nested: [{ b: 1, '2': 2 }] }), '{"nested":[{"2":2,"b":1}]}');
});

test('an already sorted value and the same value built in another order give the same text', () => {
  const sorted = { a: { x: 1, y: [true, null] }, b: 'q<' };
  const shuffled = { b: 'q<', a: { y: [true, null], x: 1 } };
  assert.equal(canonicalJson(sorted), '{"a":{"x":1,"y":[true,null]},"b":"q\\u003c"}');
  assert.equal(canonicalJson(shuffled), canonicalJson(sorted));
});
