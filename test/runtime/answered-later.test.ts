import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AnsweredLater } from '../../src/runtime/answered-later.ts';

const req = (id: string): FastifyRequest => ({ id }) as FastifyRequest;
const reply = {} as FastifyReply;

test('answered requests are recorded together on the next check phase, in order, each once', async () => {
  const seen: [string, number][] = [];
  const later = new AnsweredLater((r, _reply, ms) => seen.push([r.id, ms]));
  later.add(req('a'), reply, 1);
  later.add(req('b'), reply, 2);
  assert.deepEqual(seen, [], 'nothing is recorded inside the close event');
  await new Promise<void>((resolve) => setImmediate(resolve));
  assert.deepEqual(seen, [['a', 1], ['b', 2]]);
  later.add(req('c'), reply, 3);
  later.flush();
  assert.deepEqual(seen.at(-1), ['c', 3], 'flush records at once');
  await new Promise<void>((resolve) => setImmediate(resolve));
  assert.equal(seen.length, 3, 'a flushed request is not recorded again');
});

test('a request whose recording throws does not cost the others theirs', async () => {
  const seen: string[] = [];
  const later = new AnsweredLater((r) => {
    if (r.id === 'bad') throw new Error('boom');
    seen.push(r.id);
  });
  later.add(req('bad'), reply, 1);
  later.add(req('good'), reply, 2);
  await new Promise<void>((resolve) => setImmediate(resolve));
  assert.deepEqual(seen, ['good']);
});
