import { test } from 'node:test';
import assert from 'node:assert/strict';
import { repairToolPairs, REPAIRED_RESULT, toAnthropicMessages, toOpenAiMessages } from '../../src/runtime/index.ts';
import type { Message } from '../../src/session/types.ts';

const ctx = { agent: 'a' };

test('a complete history is returned as it is', () => {
  const h: Message[] = [
    { role: 'user', content: 'q' },
    { role: 'assistant', content: '', tool_calls: [{ id: 't1', name: 's', input: {} }] },
    { role: 'tool', tool_result: { tool_call_id: 't1', content: 'r' } },
    { role: 'assistant', content: 'a' },
  ];
  assert.equal(repairToolPairs(h, ctx), h);
});

test('missing results are added right after the results that exist; strays are left out', () => {
  const h: Message[] = [
    { role: 'user', content: 'q' },
    { role: 'assistant', content: '', tool_calls: [{ id: 't1', name: 's', input: {} }, { id: 't2', name: 's', input: {} }] },
    { role: 'tool', tool_result: { tool_call_id: 't2', content: 'second' } },
    { role: 'tool', tool_result: { tool_call_id: 'nobody', content: 'stray' } },
    { role: 'user', content: 'next' },
    { role: 'assistant', content: '', tool_calls: [{ id: 't3', name: 's', input: {} }] },
  ];
  const fixed = repairToolPairs(h, ctx);
  assert.deepEqual(fixed, [
    h[0],
    h[1],
    h[2],
    { role: 'tool', tool_result: { tool_call_id: 't1', content: REPAIRED_RESULT, is_error: true } },
    h[4],
    h[5],
    { role: 'tool', tool_result: { tool_call_id: 't3', content: REPAIRED_RESULT, is_error: true } },
  ]);
  // Both wire formats now pair every call: OpenAI's tool messages follow their assistant message.
  const openai = toOpenAiMessages('', fixed);
  assert.deepEqual(
    openai.map((m) => [m.role, m.tool_call_id]),
    [
      ['user', undefined],
      ['assistant', undefined],
      ['tool', 't2'],
      ['tool', 't1'],
      ['user', undefined],
      ['assistant', undefined],
      ['tool', 't3'],
    ],
  );
  const anthropic = toAnthropicMessages(fixed);
  assert.deepEqual(
    anthropic.map((m) => [m.role, m.content.map((b) => b.type).join(',')]),
    [
      ['user', 'text'],
      ['assistant', 'tool_use,tool_use'],
      ['user', 'tool_result,tool_result,text'],
      ['assistant', 'tool_use'],
      ['user', 'tool_result'],
    ],
  );
});

test('windows of a frozen history seen turn after turn get the same answer as the history read afresh', () => {
  // A deterministic generator, so a failure can be replayed.
  let s = 5;
  const next = (): number => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const stored: Message[] = [];
  const store = (m: Message): void => {
    stored.push(Object.freeze({ ...m, seq: stored.length + 1 }) as Message);
  };
  let calls = 0;
  for (let turn = 0; turn < 600; turn++) {
    store({ role: 'user', content: `q${turn}` });
    const kind = next();
    if (kind < 0.3) {
      // A turn with tool calls: usually every result, sometimes one missing, a stray, or a repeat.
      const ids = Array.from({ length: 1 + Math.floor(next() * 3) }, () => `t${calls++}`);
      store({ role: 'assistant', content: '', tool_calls: ids.map((id) => ({ id, name: 's', input: {} })) });
      const fault = next();
      const answered = fault < 0.1 ? ids.slice(1) : fault < 0.15 ? [...ids, 'nobody'] : fault < 0.2 ? [...ids, ids[0]!] : ids;
      for (const id of answered) store({ role: 'tool', tool_result: { tool_call_id: id, content: 'r' } });
    }
    if (kind > 0.05) store({ role: 'assistant', content: `a${turn}` });
    // The window of the next turn: its tail, sometimes starting inside a turn.
    const window = stored.slice(Math.max(0, stored.length - 1 - Math.floor(next() * 30)));
    const afresh = structuredClone(window);
    const repaired = repairToolPairs(window, ctx);
    const expected = repairToolPairs(afresh, ctx);
    assert.deepEqual(repaired, expected, `turn ${turn}`);
    assert.equal(repaired === window, expected === afresh, `turn ${turn}`);
  }
});
