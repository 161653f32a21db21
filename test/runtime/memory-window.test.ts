import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildAgentRegistry, ProviderRegistry } from '../../src/runtime/index.ts';
import type { AgentDefinition } from '../../src/runtime/agents.ts';
import { DEFAULT_WINDOW_MESSAGES, foldSummary, foldText, loadWindow, memoryWindowOf } from '../../src/runtime/memory-window.ts';
import { MemorySessionStore, type Message } from '../../src/session/index.ts';
import type { Attributes } from '../../src/ir/types.ts';
import { irDoc } from './fixtures.ts';

const plain = (i: number): Message => ({ role: i % 2 === 0 ? 'user' : 'assistant', content: `m${i}` });
const sent = { system: 'You are a test assistant.', message: 'next' };

function agentWith(attrs: Attributes = {}): AgentDefinition {
  const registry = buildAgentRegistry([irDoc({ agents: [{ name: 'a', attrs }] })], new ProviderRegistry({}));
  return registry.get('a')!;
}

async function sessionWith(messages: Message[]): Promise<{ store: MemorySessionStore; id: string }> {
  const store = new MemorySessionStore({ sweepIntervalMs: 0 });
  const { id } = await store.create('a');
  await store.appendMessages(id, messages);
  return { store, id };
}

test('the memory attribute gives the window; absent means the default sliding window', () => {
  assert.deepEqual(memoryWindowOf(undefined), { strategy: 'sliding_window', maxMessages: DEFAULT_WINDOW_MESSAGES });
  assert.deepEqual(memoryWindowOf({}), { strategy: 'sliding_window', maxMessages: DEFAULT_WINDOW_MESSAGES });
  assert.deepEqual(memoryWindowOf({ strategy: 'summary', max_messages: 6 }), { strategy: 'summary', maxMessages: 6 });
  // An environment override writes values as strings.
  assert.deepEqual(memoryWindowOf({ strategy: 'sliding_window', max_messages: '20' }), { strategy: 'sliding_window', maxMessages: 20 });
  assert.match((memoryWindowOf({ strategy: 'forever' }) as { problem: string }).problem, /strategy "forever" is not one of sliding_window, summary/);
  assert.match((memoryWindowOf({ max_messages: 0 }) as { problem: string }).problem, /max_messages 0 is not a positive integer/);
  assert.throws(() => agentWith({ memory: { strategy: 'forever' } }), /agent "a": memory strategy "forever"/);
});

test('sliding_window: the last max_messages messages, and how many are left out', async () => {
  const { store, id } = await sessionWith(Array.from({ length: 50 }, (_, i) => plain(i)));
  const w = await loadWindow(store, id, agentWith({ memory: { strategy: 'sliding_window', max_messages: 10 } }), sent);
  assert.deepEqual(w.messages.map((m) => m.content), Array.from({ length: 10 }, (_, i) => `m${40 + i}`));
  assert.equal(w.total, 50);
  assert.equal(w.start, 40);
  assert.deepEqual(w.unsummarized, []);
});

test('a window that would start inside a turn (at a tool result) is widened back to the user message that began it', async () => {
  const history: Message[] = Array.from({ length: 40 }, (_, i) => plain(i));
  history.push({ role: 'assistant', content: '', tool_calls: [1, 2, 3].map((n) => ({ id: `t${n}`, name: 's', input: {} })) });
  for (const n of [1, 2, 3]) history.push({ role: 'tool', tool_result: { tool_call_id: `t${n}`, content: `r${n}` } });
  for (let i = 0; i < 6; i++) history.push(plain(i));
  const { store, id } = await sessionWith(history);
  // The last 8 start at the second result: the turn it belongs to is read back to its user message (m38).
  const w = await loadWindow(store, id, agentWith({ memory: { max_messages: 8 } }), sent);
  assert.equal(w.start, 38);
  assert.equal(w.messages.length, 12);
  assert.deepEqual(w.messages.slice(0, 2), [{ ...plain(38), seq: 39 }, { ...plain(39), seq: 40 }]);
  assert.deepEqual(w.messages[2]!.tool_calls?.map((c) => c.id), ['t1', 't2', 't3']);
});

test('a turn whose beginning is out of reach is left out, never sent cut', async () => {
  const history: Message[] = [{ role: 'user', content: 'go' }, { role: 'assistant', content: '', tool_calls: [] }];
  const calls = Array.from({ length: 200 }, (_, n) => ({ id: `t${n}`, name: 's', input: {} }));
  history[1] = { role: 'assistant', content: '', tool_calls: calls };
  for (const c of calls) history.push({ role: 'tool', tool_result: { tool_call_id: c.id, content: 'r' } });
  history.push({ role: 'assistant', content: 'done' });
  const { store, id } = await sessionWith(history);
  const w = await loadWindow(store, id, agentWith({ memory: { max_messages: 3 } }), sent);
  assert.deepEqual(w.messages, []);
  assert.equal(w.start, history.length);
});

test('without a memory block the default window applies, not the whole history', async () => {
  const { store, id } = await sessionWith(Array.from({ length: DEFAULT_WINDOW_MESSAGES + 30 }, (_, i) => plain(i)));
  const w = await loadWindow(store, id, agentWith(), sent);
  assert.equal(w.messages.length, DEFAULT_WINDOW_MESSAGES);
  assert.equal(w.start, 30);
});

test('the window is cut from the front until the request fits the model context', async () => {
  // echo's context is 32,768 tokens; each of these messages is about 10,000.
  const big = (i: number): Message => ({ role: i % 2 === 0 ? 'user' : 'assistant', content: `${i} ${'x'.repeat(40_000)}` });
  const { store, id } = await sessionWith(Array.from({ length: 6 }, (_, i) => big(i)));
  const w = await loadWindow(store, id, agentWith(), sent);
  assert.equal(w.messages.length, 2);
  assert.equal(w.start, 4);
});

test('summary: what left the window and is not in the stored summary is read for folding', async () => {
  const { store, id } = await sessionWith(Array.from({ length: 12 }, (_, i) => plain(i)));
  const agent = agentWith({ memory: { strategy: 'summary', max_messages: 4 } });
  let w = await loadWindow(store, id, agent, sent);
  assert.deepEqual(w.unsummarized.map((m) => m.content), Array.from({ length: 8 }, (_, i) => `m${i}`));
  const fold = await foldSummary(agent, w, new AbortController().signal);
  // echo's summary: "summary: " and the last 32 words of the text it was asked to summarize.
  const words = foldText(undefined, w.unsummarized).split(/\s+/);
  assert.equal(fold.summaryText, `summary: ${words.slice(-32).join(' ')}`);
  assert.deepEqual(fold.store, { text: fold.summaryText, covers: 8 });
  // Deterministic: the same history gives the same summary.
  assert.deepEqual(await foldSummary(agent, w, new AbortController().signal), fold);

  await store.appendMessages(id, [plain(12), plain(13)], { summary: fold.store! });
  w = await loadWindow(store, id, agent, sent);
  assert.equal(w.start, 10);
  assert.deepEqual(w.summary, fold.store);
  assert.deepEqual(w.unsummarized.map((m) => m.content), ['m8', 'm9']);
  const next = await foldSummary(agent, w, new AbortController().signal);
  assert.match(next.summaryText!, /m9$/);
  assert.equal(next.store?.covers, 10);
  // Nothing new out of the window: the stored summary is sent as it is and not rewritten.
  await store.appendMessages(id, [], { summary: next.store! });
  const still = await loadWindow(store, id, agent, sent);
  assert.deepEqual(await foldSummary(agent, still, new AbortController().signal), { summaryText: next.store!.text });
});
