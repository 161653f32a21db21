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
