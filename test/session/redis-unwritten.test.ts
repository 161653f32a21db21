import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import fc from 'fast-check';
import { commandBytes, UnwrittenCommands } from '../../src/session/redis-unwritten.ts';

/** A command as RESP puts it on the wire, to measure it. */
function resp(args: string[]): Buffer {
  return Buffer.from(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
}

test('commandBytes is never below what the command takes on the wire, and at most 17 bytes an argument above', () => {
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.string({ unit: 'binary' }), fc.constantFrom('\ud83d', '\ude00', 'a\ud83d', '\ude00b'), fc.string({ minLength: 10_000, maxLength: 12_000 })), { minLength: 1, maxLength: 20 }), (args) => {
      const wire = resp(args).length;
      const counted = commandBytes(args);
      assert.ok(counted >= wire, `${counted} counted for ${wire} on the wire`);
      assert.ok(counted - wire <= 13 + 17 * args.length);
    }),
  );
});

test('a command needs its signal once those given and unanswered reach the limit, and no longer once answered', () => {
  const window = new UnwrittenCommands(1000);
  assert.equal(window.given(600), false);
  assert.equal(window.given(399), false);
  assert.equal(window.given(1), true, 'the one that brings the sum to the limit');
  window.answered(600);
  assert.equal(window.given(100), false);
  window.answered(399);
  window.answered(1);
  window.answered(100);
  assert.equal(window.pending, 0);
});

test('the default limit is the high-water mark of a socket made as the Redis client makes it', () => {
  const socket = new net.Socket();
  try {
    assert.equal(new UnwrittenCommands().given(socket.writableHighWaterMark - 1), false);
    assert.equal(new UnwrittenCommands().given(socket.writableHighWaterMark), true);
  } finally {
    socket.destroy();
  }
});
