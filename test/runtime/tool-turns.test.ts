import http from 'node:http';
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startToolSet } from '../../src/tools/index.ts';
import { REPAIRED_RESULT } from '../../src/runtime/index.ts';
import type { IRDocument } from '../../src/ir/types.ts';
import { anthropicMessage, openaiCompletion, startFakeLlm, type FakeLlm } from './fake-llm.ts';
import { call, irDoc, startTestServer, type TestServer } from './fixtures.ts';
import { postSse } from './sse-client.ts';
import { listenOnLoopback } from '../helpers/loopback-server.ts';

/** A loopback server whose `/barrier` answers only once two requests are waiting: proof they overlap. */
async function startBarrier(): Promise<{ url: string; seen: () => number; close(): Promise<void> }> {
  const waiting: http.ServerResponse[] = [];
  let seen = 0;
  const server = http.createServer((req, res) => {
    seen++;
    waiting.push(res);
    if (waiting.length >= 2) for (const w of waiting.splice(0)) w.end(`released ${req.url ?? ''}`);
  });
  const listening = await listenOnLoopback(server);
  return { ...listening, seen: () => seen };
}

function toolDoc(barrierUrl: string, models: { anthropic: string; openai: string }): IRDocument {
  return irDoc({
    agents: [
      { name: 'claude', model: models.anthropic, skills: ['shout', 'wait'] },
      { name: 'gpt', model: models.openai, skills: ['shout'] },
      { name: 'local', model: 'echo', skills: ['shout', 'nap'] },
      { name: 'hasty', model: 'echo', skills: ['nap'], attrs: { timeout: '400ms' } },
      { name: 'claude-hasty', model: models.anthropic, skills: ['nap'], attrs: { timeout: '600ms' } },
    ],
    skills: {
      shout: {
        description: 'Repeat the word',
        input: [{ name: 'word', type: 'string', required: true }, { name: 'times', type: 'int' }],
        tool: { type: 'command', binary: 'echo', args: ['said:', '{{word}}'] },
      },
      nap: { description: 'Sleep long', input: [], tool: { type: 'command', binary: 'sleep', args: ['30'] } },
      wait: {
        description: 'Wait at the barrier',
        input: [{ name: 'tag', type: 'string', required: true }],
        tool: { type: 'http', method: 'GET', url: `${barrierUrl}/{{tag}}`, timeout: '10s' },
      },
    },
  });
}

describe('tool turns through the runtime', () => {
  let fake: FakeLlm;
  let srv: TestServer;
  let barrier: Awaited<ReturnType<typeof startBarrier>>;
  before(async () => {
    fake = await startFakeLlm();
    barrier = await startBarrier();
    const docs = [toolDoc(barrier.url, { anthropic: 'claude-x', openai: 'gpt-x' })];
    const tools = await startToolSet(docs, { env: process.env, allowPrivateNetwork: true });
    srv = await startTestServer(docs, {
      tools,
      env: { ANTHROPIC_API_KEY: 'k', ANTHROPIC_BASE_URL: fake.url, OPENAI_API_KEY: 'k', OPENAI_BASE_URL: fake.url },
    });
  });
  after(async () => {
    await srv.close();
    await fake.close();
    await barrier.close();
  });
  beforeEach(() => {
    fake.requests.length = 0;
    fake.replies.length = 0;
  });

  test('Anthropic: tool_use runs the command, tool_result goes back paired, the session keeps the whole turn', async () => {
    const session = await call(`${srv.url}/v1/agents/claude/sessions`, 'POST', {});
    const id = String(session.body.session_id);
    fake.replies.push(
      anthropicMessage([{ type: 'text', text: 'Calling.' }, { type: 'tool_use', id: 'tu_a', name: 'shout', input: { word: 'hello world' } }], undefined, 'tool_use'),
      anthropicMessage([{ type: 'text', text: 'Done.' }]),
    );
    const r = await call(`${srv.url}/v1/agents/claude/sessions/${id}`, 'POST', { message: 'go' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.output, 'Done.');
    const calls = r.body.tool_calls as Array<Record<string, unknown>>;
    assert.equal(calls.length, 1);
    assert.equal(calls[0]?.output, 'said: hello world\n');
    assert.equal(calls[0]?.error, undefined);
    assert.equal(typeof calls[0]?.duration_ms, 'number');
    const second = fake.requests[1]!.body.messages as Array<{ role: string; content: Array<Record<string, unknown>> }>;
    assert.deepEqual(second[1], { role: 'assistant', content: [{ type: 'text', text: 'Calling.' }, { type: 'tool_use', id: 'tu_a', name: 'shout', input: { word: 'hello world' } }] });
    assert.deepEqual(second[2], { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'tu_a', content: 'said: hello world\n' }] });
    const history = await call(`${srv.url}/v1/agents/claude/sessions/${id}`, 'GET');
    const msgs = history.body.messages as Array<Record<string, unknown>>;
    assert.deepEqual(
      msgs.map((m) => m.role),
      ['user', 'assistant', 'tool', 'assistant'],
    );
    assert.deepEqual(msgs[1]?.tool_calls, [{ id: 'tu_a', name: 'shout', input: { word: 'hello world' } }]);
    assert.deepEqual(msgs[2]?.tool_result, { tool_call_id: 'tu_a', content: 'said: hello world\n' });
  });

  test('several tool calls of one turn run concurrently, results paired by id in call order', async () => {
    fake.replies.push(
      anthropicMessage(
        [
          { type: 'tool_use', id: 'tu_1', name: 'wait', input: { tag: 'one' } },
          { type: 'tool_use', id: 'tu_2', name: 'wait', input: { tag: 'two' } },
        ],
        undefined,
        'tool_use',
      ),
      anthropicMessage([{ type: 'text', text: 'both back' }]),
    );
    // The barrier releases nothing until both requests are in flight: sequential calls would time out.
    const r = await call(`${srv.url}/v1/agents/claude/invoke`, 'POST', { message: 'go' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const calls = r.body.tool_calls as Array<Record<string, unknown>>;
    assert.deepEqual(
      calls.map((c) => [c.id, c.error]),
      [
        ['tu_1', undefined],
        ['tu_2', undefined],
      ],
    );
    assert.match(String(calls[0]?.output), /^released \/(one|two)$/);
    const blocks = (fake.requests[1]!.body.messages as Array<{ content: Array<Record<string, unknown>> }>)[2]!.content;
    assert.deepEqual(
      blocks.map((b) => [b.type, b.tool_use_id]),
      [
        ['tool_result', 'tu_1'],
        ['tool_result', 'tu_2'],
      ],
    );
  });

  test('invalid arguments go back to the model as a tool error naming the field; nothing runs', async () => {
    fake.replies.push(
      anthropicMessage([{ type: 'tool_use', id: 'tu_bad', name: 'shout', input: { word: 'x', times: 'three' } }], undefined, 'tool_use'),
      anthropicMessage([{ type: 'text', text: 'sorry' }]),
    );
    const r = await call(`${srv.url}/v1/agents/claude/invoke`, 'POST', { message: 'go' });
    assert.equal(r.status, 200);
    const result = (fake.requests[1]!.body.messages as Array<{ content: Array<Record<string, unknown>> }>)[2]!.content[0]!;
    assert.equal(result.is_error, true);
    assert.match(String(result.content), /times: expected integer, got string/);
  });

  test('Anthropic streaming: the tool runs between two streamed model calls', async () => {
    const ev = (data: Record<string, unknown>): { event: string; data: unknown } => ({ event: String(data.type), data });
    fake.replies.push(
      {
        sse: [
          ev({ type: 'message_start', message: { usage: { input_tokens: 3 } } }),
          ev({ type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id: 'tu_s', name: 'shout', input: {} } }),
          ev({ type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '{"word":' } }),
          ev({ type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '"streamed"}' } }),
          ev({ type: 'message_delta', delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 2 } }),
          ev({ type: 'message_stop' }),
        ],
      },
      {
        sse: [
          ev({ type: 'message_start', message: { usage: { input_tokens: 3 } } }),
          ev({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
          ev({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'ok' } }),
          ev({ type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 1 } }),
          ev({ type: 'message_stop' }),
        ],
      },
    );
    // The tool calls ride in `done` only when the client asks for the whole answer there.
    const r = await postSse(`${srv.url}/v1/agents/claude/stream`, { message: 'go', include_output: true });
    const done = r.events.find((e) => e.event === 'done');
    assert.ok(done !== undefined, JSON.stringify(r.events));
    const calls = (done.data as Record<string, unknown>).tool_calls as Array<Record<string, unknown>>;
    assert.equal(calls[0]?.output, 'said: streamed\n');
  });

  test('OpenAI: tool_calls run, the result goes back as role tool with tool_call_id', async () => {
    fake.replies.push(
      openaiCompletion({ content: null, tool_calls: [{ id: 'call_7', type: 'function', function: { name: 'shout', arguments: '{"word":"hey"}' } }] }, undefined, 'tool_calls'),
      openaiCompletion({ content: 'fine' }),
    );
    const r = await call(`${srv.url}/v1/agents/gpt/invoke`, 'POST', { message: 'go' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.output, 'fine');
    const msgs = fake.requests[1]!.body.messages as Array<Record<string, unknown>>;
    assert.deepEqual(msgs[msgs.length - 1], { role: 'tool', tool_call_id: 'call_7', content: 'said: hey\n' });
    assert.deepEqual((msgs[msgs.length - 2]?.tool_calls as unknown[])[0], { id: 'call_7', type: 'function', function: { name: 'shout', arguments: '{"word":"hey"}' } });
  });

  test('echo: `/tool SKILL {json}` calls the skill and answers with its result', async () => {
    const r = await call(`${srv.url}/v1/agents/local/invoke`, 'POST', { message: '/tool shout {"word": "no key needed"}' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.output, 'said: no key needed\n');
    assert.equal(r.body.turns, 2);
    const bad = await call(`${srv.url}/v1/agents/local/invoke`, 'POST', { message: '/tool shout {}' });
    assert.match(String(bad.body.output), /^tool error: invalid arguments for "shout": word: required field is missing/);
    const notJson = await call(`${srv.url}/v1/agents/local/invoke`, 'POST', { message: '/tool shout {word' });
    assert.match(String(notJson.body.output), /arguments are not JSON/);
    assert.equal(notJson.body.turns, 1);
  });

  test("the agent's deadline stops a running tool: 504 at once, not after the tool's own timeout", async () => {
    const started = Date.now();
    const r = await call(`${srv.url}/v1/agents/hasty/invoke`, 'POST', { message: '/tool nap {}' });
    assert.equal(r.status, 504, JSON.stringify(r.body));
    assert.ok(Date.now() - started < 10_000);
  });

  test('a partial turn saved while a tool ran (save_partial) does not block the conversation', async () => {
    const session = await call(`${srv.url}/v1/agents/claude-hasty/sessions`, 'POST', {});
    const id = String(session.body.session_id);
    fake.replies.push(anthropicMessage([{ type: 'tool_use', id: 'tu_nap', name: 'nap', input: {} }], undefined, 'tool_use'));
    const first = await call(`${srv.url}/v1/agents/claude-hasty/sessions/${id}`, 'POST', { message: 'nap', save_partial: true });
    assert.equal(first.status, 504);
    const stored = await call(`${srv.url}/v1/agents/claude-hasty/sessions/${id}`, 'GET');
    assert.deepEqual(
      (stored.body.messages as Array<Record<string, unknown>>).map((m) => m.role),
      ['user', 'assistant'],
    );
    fake.requests.length = 0;
    fake.replies.length = 0;
    fake.replies.push(anthropicMessage([{ type: 'text', text: 'awake' }]));
    const second = await call(`${srv.url}/v1/agents/claude-hasty/sessions/${id}`, 'POST', { message: 'again' });
    assert.equal(second.status, 200, JSON.stringify(second.body));
    const sent = fake.requests[0]!.body.messages as Array<{ role: string; content: Array<Record<string, unknown>> }>;
    assert.deepEqual(sent[2]?.content[0], { type: 'tool_result', tool_use_id: 'tu_nap', content: REPAIRED_RESULT, is_error: true });
  });

  test('an unpaired tool call in the stored history is repaired before the provider sees it', async () => {
    const session = await call(`${srv.url}/v1/agents/claude/sessions`, 'POST', {});
    const id = String(session.body.session_id);
    await srv.store.appendMessages(id, [
      { role: 'user', content: 'earlier' },
      { role: 'assistant', content: '', tool_calls: [{ id: 'tu_lost', name: 'shout', input: { word: 'x' } }] },
      { role: 'tool', tool_result: { tool_call_id: 'tu_stray', content: 'no call for me' } },
    ]);
    fake.replies.push(anthropicMessage([{ type: 'text', text: 'recovered' }]));
    const r = await call(`${srv.url}/v1/agents/claude/sessions/${id}`, 'POST', { message: 'again' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const sent = fake.requests[0]!.body.messages as Array<{ role: string; content: Array<Record<string, unknown>> }>;
    assert.deepEqual(sent[2], {
      role: 'user',
      content: [
        { type: 'tool_result', tool_use_id: 'tu_lost', content: REPAIRED_RESULT, is_error: true },
        { type: 'text', text: 'again' },
      ],
    });
    assert.ok(!JSON.stringify(sent).includes('tu_stray'));
  });
});
