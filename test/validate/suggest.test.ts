import { test } from 'node:test';
import assert from 'node:assert/strict';
import { byteLevenshtein, suggestName } from '../../src/validate/suggest.ts';

test('byte Levenshtein distance', () => {
  assert.equal(byteLevenshtein('', ''), 0);
  assert.equal(byteLevenshtein('abc', ''), 3);
  assert.equal(byteLevenshtein('', 'ab'), 2);
  assert.equal(byteLevenshtein('web-serch', 'web-search'), 1);
  assert.equal(byteLevenshtein('kitten', 'sitting'), 3);
  // é is two bytes in UTF-8: replacing it by e costs 2 byte edits (one substitution + one deletion).
  assert.equal(byteLevenshtein('é', 'e'), 2);
});

test('did you mean: the closest name within len/2+1', () => {
  assert.equal(suggestName('web-serch', ['summarize', 'web-search', 'translate']), 'did you mean "web-search"?');
  // len("ab")/2+1 = 2: distance 1 qualifies
  assert.equal(suggestName('ab', ['xb']), 'did you mean "xb"?');
});

test('ties go to the alphabetically first name', () => {
  assert.equal(suggestName('cat', ['hat', 'bat', 'mat']), 'did you mean "bat"?');
});

test('nothing close: the sorted list of what exists', () => {
  assert.equal(suggestName('zzzzzz', ['beta', 'alpha', 'gamma']), 'available: alpha, beta, gamma');
  // len("ab")/2+1 = 2: distance 2 is not close enough
  assert.equal(suggestName('ab', ['cd']), 'available: cd');
});

test('no hint when the kind has no names at all', () => {
  assert.equal(suggestName('x', []), undefined);
});
