import { test } from 'node:test';
import assert from 'node:assert/strict';
import { goDuration } from '../../src/runtime/wire.ts';

test('goDuration prints like Go time.Duration', () => {
  assert.equal(goDuration(0), '0s');
  assert.equal(goDuration(150), '150ms');
  assert.equal(goDuration(1500), '1.5s');
  assert.equal(goDuration(2000), '2s');
  assert.equal(goDuration(62_250), '1m2.25s');
  assert.equal(goDuration(3_723_000), '1h2m3s');
  assert.equal(goDuration(3_600_000), '1h0m0s');
});
