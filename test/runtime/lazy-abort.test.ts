import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LazyAbortController } from '../../src/lazy-abort.ts';

test('a signal asked for after the abort is made aborted, with the reason given', () => {
  const c = new LazyAbortController();
  const reason = new Error('client went away');
  c.abort(reason);
  assert.equal(c.aborted, true);
  assert.equal(c.signal.aborted, true);
  assert.equal(c.signal.reason, reason);
});

test('a signal asked for before the abort fires its listeners once, and the first reason stays', () => {
  const c = new LazyAbortController();
  const seen: unknown[] = [];
  c.signal.addEventListener('abort', () => seen.push(c.signal.reason));
  assert.equal(c.aborted, false);
  const first = new Error('deadline');
  c.abort(first);
  c.abort(new Error('later'));
  assert.deepEqual(seen, [first]);
  assert.equal(c.signal.reason, first);
});

test('without a reason the abort is an AbortError, whether the signal existed before or not', () => {
  const early = new LazyAbortController();
  void early.signal;
  early.abort();
  const late = new LazyAbortController();
  late.abort();
  for (const c of [early, late]) {
    assert.ok(c.signal.reason instanceof DOMException);
    assert.equal((c.signal.reason as DOMException).name, 'AbortError');
  }
  assert.equal(new LazyAbortController().signal.aborted, false);
});

test('fetch takes the lazily made signal: an abort before the call refuses it with the reason', async () => {
  const c = new LazyAbortController();
  const reason = new Error('gone');
  c.abort(reason);
  await assert.rejects(fetch('http://127.0.0.1:9/', { signal: c.signal }), (err) => err === reason);
});
