import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Histogram, Registry } from 'prom-client';
import { BucketHistogram } from '../../src/runtime/bucket-histogram.ts';

const BUCKETS = [0.01, 0.1, 1];
const OBSERVED: Array<[string, number]> = [
  ['a', 0.005],
  ['a', 0.01],
  ['a', 0.5],
  ['a', 7],
  ['b', 0.1],
];

test("a bucket histogram's exposition is prom-client's Histogram's for the same observations", async () => {
  const theirs = new Registry();
  const ours = new Registry();
  const reference = new Histogram({ name: 'h_seconds', help: 'help text', labelNames: ['route'], buckets: BUCKETS, registers: [theirs] });
  const fast = new BucketHistogram({ name: 'h_seconds', help: 'help text', labelNames: ['route'], buckets: BUCKETS, registers: [ours] });
  for (const [route, v] of OBSERVED) {
    reference.observe({ route }, v);
    fast.seriesOf({ route }).observe(v);
  }
  const text = await ours.metrics();
  assert.equal(text, await theirs.metrics());
  assert.match(text, /h_seconds_bucket\{le="0.01",route="a"\} 2/);
  assert.match(text, /h_seconds_bucket\{le="\+Inf",route="a"\} 4/);
  assert.match(text, /h_seconds_sum\{route="b"\} 0.1/);
});

test('a held series is the one seriesOf gives for the same labels, and reset zeroes it in place', async () => {
  const registry = new Registry();
  const h = new BucketHistogram({ name: 'x_seconds', help: 'x', labelNames: ['method', 'route'], buckets: BUCKETS, registers: [registry] });
  const held = h.seriesOf({ method: 'GET', route: '/a' });
  held.observe(0.2);
  h.seriesOf({ method: 'GET', route: '/a' }).observe(0.3);
  assert.match(await registry.metrics(), /x_seconds_count\{method="GET",route="\/a"\} 2/);
  registry.resetMetrics();
  held.observe(2);
  const after = await registry.metrics();
  assert.match(after, /x_seconds_count\{method="GET",route="\/a"\} 1/);
  assert.match(after, /x_seconds_bucket\{le="1",method="GET",route="\/a"\} 0/);
  assert.throws(() => held.observe(Number.NaN), /finite number/);
});
