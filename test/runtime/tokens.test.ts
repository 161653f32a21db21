import { test } from 'node:test';
import assert from 'node:assert/strict';
import { countOf, countWords, MessageCount, sumOf } from '../../src/runtime/tokens.ts';
import type { Message } from '../../src/session/types.ts';
import { MemorySessionStore } from '../../src/session/memory-store.ts';
import { sliceOf } from '../../src/session/stretches.ts';

/** A small deterministic generator, so a failure can be replayed. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const SPACES = ['\t', '\n', '\v', '\f', '\r', ' ', '\u00a0', '\u1680', '\u2000', '\u2005', '\u200a', '\u2028', '\u2029', '\u202f', '\u205f', '\u3000', '\ufeff'];
const NOT_SPACES = ['a', 'é', '\u180e', '\u200b', '\u0085', '\ud83d\ude00', '-', '0'];

test('countWords counts as trim and a split on white space do', () => {
  const byRegex = (t: string): number => (t.trim() === '' ? 0 : t.trim().split(/\s+/).length);
  const next = random(7);
  for (let n = 0; n < 3000; n++) {
    let text = '';
    const length = Math.floor(next() * 12);
    for (let i = 0; i < length; i++) {
      const pool = next() < 0.5 ? SPACES : NOT_SPACES;
      text += pool[Math.floor(next() * pool.length)];
    }
    assert.equal(countWords(text), byRegex(text), JSON.stringify(text));
  }
  for (let c = 0; c < 0x10000; c++) {
    const text = `a${String.fromCharCode(c)}b`;
    assert.equal(countWords(text), byRegex(text), `U+${c.toString(16)}`);
  }
});

const LENGTH = new MessageCount((m) => (m.content ?? '').length);
const direct = (list: Message[], from = 0): number => list.slice(from).reduce((n, m) => n + (m.content ?? '').length, 0);

test('sumOf over frozen messages seen in other orders, stretches and mixes is the plain sum', () => {
  const next = random(11);
  const stored: Message[] = [];
  const add = (): Message => {
    const m = Object.freeze({ role: 'user', content: 'x'.repeat(Math.floor(next() * 20)), seq: stored.length + 1 }) as Message;
    stored.push(m);
    return m;
  };
  for (let i = 0; i < 30; i++) add();
  for (let turn = 0; turn < 400; turn++) {
    if (next() < 0.5) add();
    const choice = next();
    let list: Message[];
    if (choice < 0.4) {
      // A sliding window, as a session turn reads it.
      list = stored.slice(Math.max(0, stored.length - 1 - Math.floor(next() * 25)));
    } else if (choice < 0.6) {
      // A stretch from the middle, then loose messages (not frozen) and another stretch.
      const a = Math.floor(next() * stored.length);
      const b = Math.floor(next() * stored.length);
      list = [...stored.slice(a, a + 5), { role: 'user', content: 'loose one' }, ...stored.slice(b, b + 7)];
    } else if (choice < 0.8) {
      // The same objects in another order, with repeats.
      list = Array.from({ length: 10 }, () => stored[Math.floor(next() * stored.length)]!);
    } else {
      // Frozen messages that belong to no stored history, in between.
      list = [...stored.slice(-4), Object.freeze({ role: 'assistant', content: 'elsewhere' }) as Message, ...stored.slice(-3)];
    }
    const from = next() < 0.3 ? Math.floor(next() * list.length) : 0;
    assert.equal(sumOf(list, LENGTH, from), direct(list, from), `turn ${turn}`);
    for (const m of list) assert.equal(countOf(m, LENGTH), (m.content ?? '').length);
  }
});

test('a message that is not frozen is counted as it is now, every time', () => {
  const m: Message = { role: 'user', content: 'one two' };
  const list = [m];
  assert.equal(sumOf(list, LENGTH), 7);
  m.content = 'one two three';
  assert.equal(sumOf(list, LENGTH), 13);
  assert.equal(countOf(m, LENGTH), 13);
});

test('a message frozen only on top is counted afresh: what it holds can still change', () => {
  const TOOLS = new MessageCount((m) => JSON.stringify(m.tool_calls ?? []).length);
  const input = { q: 'a' };
  const m = Object.freeze({ role: 'assistant', tool_calls: [{ id: 't', name: 's', input }] }) as Message;
  const before = sumOf([m], TOOLS);
  input.q = 'a longer query';
  assert.equal(sumOf([m], TOOLS), before + 'a longer query'.length - 1);
  const cyclic: Record<string, unknown> = { q: 'x' };
  cyclic.self = cyclic;
  Object.freeze(cyclic);
  const odd = Object.freeze({ role: 'assistant', content: 'abc', tool_calls: Object.freeze([Object.freeze({ id: 't', name: 's', input: cyclic })]) }) as Message;
  assert.equal(sumOf([odd, odd], LENGTH), 6);
});

test('a session longer than one run: windows that cross from one run into the next still sum plainly', () => {
  const stored: Message[] = [];
  for (let i = 0; i < 10_000; i++) stored.push(Object.freeze({ role: 'user', content: 'y'.repeat(i % 17), seq: i + 1 }) as Message);
  // Seen turn by turn, as a session grows: each window is the last 100 messages.
  for (let end = 100; end <= stored.length; end += 37) {
    const window = stored.slice(end - 100, end);
    assert.equal(sumOf(window, LENGTH), direct(window), `window ending at ${end}`);
  }
  assert.equal(sumOf(stored, LENGTH), direct(stored));
});

test("a memory store's pages are counted by what is new in them: a sliding window reads each message once", async () => {
  const store = new MemorySessionStore({ sweepIntervalMs: 0 });
  try {
    const id = (await store.create('bot')).id;
    const read: string[] = [];
    const counting = new MessageCount((m) => {
      read.push(m.content ?? '');
      return (m.content ?? '').length;
    });
    for (let turn = 0; turn < 60; turn++) {
      await store.appendMessages(id, [
        { role: 'user', content: `question ${turn}` },
        { role: 'assistant', content: `answer ${turn}!` },
      ]);
      const page = await store.loadMessages(id, { tail: 20 });
      assert.ok(Object.isFrozen(page.messages));
      read.length = 0;
      assert.equal(sumOf(page.messages, counting), direct(page.messages), `turn ${turn}`);
      // Each window is read only for the two messages the turn added (the first one holds no more).
      assert.equal(read.length, 2, `turn ${turn}: read ${JSON.stringify(read)}`);
      const from = turn % 7;
      assert.equal(sumOf(page.messages, LENGTH, from), direct(page.messages, from));
      const cut = sliceOf(page.messages, from);
      assert.equal(sumOf(cut, LENGTH), direct(cut));
    }
    // A page from before the first one counted (offset 0) is counted the general way, and right.
    const early = await store.loadMessages(id, { offset: 0, limit: 30 });
    assert.equal(sumOf(early.messages, LENGTH), direct(early.messages));
    // The page is the plain array it looks like: equal to a copy, serialized as one.
    assert.deepStrictEqual(early.messages, [...early.messages]);
    assert.equal(JSON.stringify(early.messages), JSON.stringify([...early.messages]));
  } finally {
    await store.close();
  }
});

test('a list that is not a declared page is never taken for one, even with the same messages', async () => {
  const store = new MemorySessionStore({ sweepIntervalMs: 0 });
  try {
    const id = (await store.create('bot')).id;
    await store.appendMessages(id, Array.from({ length: 10 }, (_, i) => ({ role: 'user' as const, content: 'z'.repeat(i + 1) })));
    const page = await store.loadMessages(id, { tail: 10 });
    assert.equal(sumOf(page.messages, LENGTH), direct(page.messages));
    // The same objects, one left out: a copy of the page, not the page.
    const gap = [...page.messages.slice(0, 4), ...page.messages.slice(5)];
    assert.equal(sumOf(gap, LENGTH), direct(gap));
    assert.throws(() => (page.messages as Message[]).push({ role: 'user', content: 'more' }), TypeError);
  } finally {
    await store.close();
  }
});

test('tallies first asked of a history at different lengths, in any order, each keep their own plain sums', async () => {
  const store = new MemorySessionStore({ sweepIntervalMs: 0 });
  try {
    const id = (await store.create('bot')).id;
    const next = random(11);
    // Five tallies, each joining the history's run at another turn: a run makes room for a tally
    // joining after it has rows, and for rows beyond what it holds, without moving the others' sums.
    const factors = [1, 2, 3, 5, 7];
    const counted = (m: Message, factor: number): number => ((m.content ?? '').length * factor) % 13;
    const tallies = factors.map((f) => new MessageCount((m) => counted(m, f)));
    const plain = (list: readonly Message[], k: number, from = 0): number => list.slice(from).reduce((n, m) => n + counted(m, factors[k]!), 0);
    for (let turn = 0; turn < 200; turn++) {
      const words = 1 + Math.floor(next() * 9);
      await store.appendMessages(id, [{ role: 'user', content: 'w '.repeat(words) }, { role: 'assistant', content: 'x'.repeat(Math.floor(next() * 40)) }]);
      const page = (await store.loadMessages(id, { tail: 1 + Math.floor(next() * 50) })).messages;
      const joined = Math.min(tallies.length, 1 + Math.floor(turn / 30));
      const order = Array.from({ length: joined }, (_, k) => k).sort(() => next() - 0.5);
      for (const k of order) {
        const from = Math.floor(next() * page.length);
        assert.equal(sumOf(page, tallies[k]!, from), plain(page, k, from), `turn ${turn}, tally ${k}, from ${from}`);
      }
    }
  } finally {
    await store.close();
  }
});
