import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { anthropicMessage, openaiCompletion, startFakeLlm, type FakeLlm } from './fake-llm.ts';
import { call, irDoc, startTestServer, unavailableCalls, type TestServer } from './fixtures.ts';
import { postSse } from './sse-client.ts';

const prompts = { system: { content: 'You help {{team}}.', variables: [{ name: 'team', default: 'everyone' }] } };
const skills = { lookup: { description: 'Look up a record', input: [{ name: 'id', type: 'int', required: true }, { name: 'note', type: 'string' }] } };

describe('Anthropic Messages API', () => {
  let fake: FakeLlm;
  let srv: TestServer;
  before(async () => {
    fake = await startFakeLlm();
    const doc = irDoc({
      agents: [
        { name: 'a', model: 'claude-sonnet-4-20250514', skills: ['lookup'], attrs: { temperature: 0.3 } },
        { name: 'explicit', model: 'anthropic/my-model' },
      ],
      prompts,
      skills,
    });
    srv = await startTestServer([doc], { env: { ANTHROPIC_API_KEY: 'sk-ant-test', ANTHROPIC_BASE_URL: fake.url } });
  });
  after(async () => {
    await srv.close();
    await fake.close();
  });
  beforeEach(() => {
    fake.requests.length = 0;
    fake.replies.length = 0;
  });

  test('request shape: headers, system prompt, messages, temperature, tools; usage mapped', async () => {
    fake.replies.push(anthropicMessage([{ type: 'text', text: 'Hi ' }, { type: 'text', text: 'there' }], { input_tokens: 11, output_tokens: 4, cache_read_input_tokens: 6 } as never));
    const r = await call(`${srv.url}/v1/agents/a/invoke`, 'POST', { message: 'hello', variables: { team: 'billing' } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.output, 'Hi there');
    assert.deepEqual(r.body.tokens, { input: 11, output: 4, cache_read: 6, total: 21 });
    assert.equal(fake.requests.length, 1);
    const req = fake.requests[0]!;
    assert.equal(req.method, 'POST');
    assert.equal(req.path, '/v1/messages');
    assert.equal(req.headers['x-api-key'], 'sk-ant-test');
    assert.equal(req.headers['anthropic-version'], '2023-06-01');
    assert.match(String(req.headers['content-type']), /application\/json/);
    assert.equal(req.body.model, 'claude-sonnet-4-20250514');
    assert.equal(req.body.system, 'You help billing.');
    assert.equal(req.body.temperature, 0.3);
    assert.equal(typeof req.body.max_tokens, 'number');
    assert.equal(req.body.stream, undefined);
    assert.deepEqual(req.body.messages, [{ role: 'user', content: [{ type: 'text', text: 'hello' }] }]);
    assert.deepEqual(req.body.tools, [
      {
        name: 'lookup',
        description: 'Look up a record',
        input_schema: { type: 'object', properties: { id: { type: 'integer' }, note: { type: 'string' } }, required: ['id'] },
      },
    ]);
  });

  test('explicit anthropic/ prefix is stripped; prompt default applies', async () => {
    fake.replies.push(anthropicMessage([{ type: 'text', text: 'ok' }]));
    const r = await call(`${srv.url}/v1/agents/explicit/invoke`, 'POST', { message: 'x' });
    assert.equal(r.status, 200);
    assert.equal(fake.requests[0]?.body.model, 'my-model');
    assert.equal(fake.requests[0]?.body.system, 'You help everyone.');
    assert.equal(fake.requests[0]?.body.temperature, undefined);
    assert.equal(fake.requests[0]?.body.tools, undefined);
  });

  test('tool call: answered with "tool not available", the loop continues, history keeps both', async () => {
    fake.replies.push(
      anthropicMessage([{ type: 'text', text: 'Let me look.' }, { type: 'tool_use', id: 'toolu_1', name: 'lookup', input: { id: 7 } }], undefined, 'tool_use'),
      anthropicMessage([{ type: 'text', text: 'I could not look it up.' }]),
    );
    const s = await call(`${srv.url}/v1/agents/a/sessions`, 'POST', {});
    const id = String(s.body.session_id);
    const r = await call(`${srv.url}/v1/agents/a/sessions/${id}`, 'POST', { message: 'find 7' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.output, 'I could not look it up.');
    assert.equal(r.body.turns, 2);
    assert.deepEqual(r.body.tool_calls, unavailableCalls([{ id: 'toolu_1', name: 'lookup', input: { id: 7 } }], 'a'));
    assert.equal(fake.requests.length, 2);
    const second = fake.requests[1]!.body.messages as Array<{ role: string; content: Array<Record<string, unknown>> }>;
    assert.equal(second.length, 3);
    assert.deepEqual(second[1], {
      role: 'assistant',
      content: [
        { type: 'text', text: 'Let me look.' },
        { type: 'tool_use', id: 'toolu_1', name: 'lookup', input: { id: 7 } },
      ],
    });
    assert.equal(second[2]?.role, 'user');
    const result = second[2]!.content[0]!;
    assert.equal(result.type, 'tool_result');
    assert.equal(result.tool_use_id, 'toolu_1');
    assert.equal(result.is_error, true);
    assert.match(String(result.content), /tool "lookup" is not available/);

    const hist = await call(`${srv.url}/v1/agents/a/sessions/${id}`, 'GET');
    const roles = (hist.body.messages as Array<{ role: string }>).map((m) => m.role);
    assert.deepEqual(roles, ['user', 'assistant', 'tool', 'assistant']);
  });

  test('streaming: SSE deltas relayed, usage from message_start and message_delta', async () => {
    fake.replies.push({
      sse: [
        { event: 'message_start', data: { type: 'message_start', message: { usage: { input_tokens: 12, output_tokens: 1, cache_read_input_tokens: 3 } } } },
        { event: 'content_block_start', data: { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } } },
        { event: 'ping', data: { type: 'ping' } },
        { event: 'content_block_delta', data: { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hel' } } },
        { event: 'content_block_delta', data: { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'lo ✓' } } },
        { event: 'content_block_stop', data: { type: 'content_block_stop', index: 0 } },
        { event: 'message_delta', data: { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 7 } } },
        { event: 'message_stop', data: { type: 'message_stop' } },
      ],
    });
    const r = await postSse(`${srv.url}/v1/agents/a/stream`, { message: 'hi' });
    assert.equal(r.status, 200);
    assert.equal(fake.requests[0]?.body.stream, true);
    assert.deepEqual(r.events.filter((e) => e.event === 'text').map((e) => e.data.text), ['Hel', 'lo ✓']);
    const last = r.events[r.events.length - 1]!;
    assert.equal(last.event, 'done');
    assert.deepEqual(last.data.tokens, { input: 12, output: 7, cache_read: 3, total: 22 });
    assert.equal(last.data.turns, 1);
    assert.equal(typeof last.data.duration_ms, 'number');
  });

  test('streaming tool call: input_json_delta assembled into the tool call', async () => {
    fake.replies.push(
      {
        sse: [
          { event: 'message_start', data: { type: 'message_start', message: { usage: { input_tokens: 5 } } } },
          { event: 'content_block_start', data: { type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id: 'tu_9', name: 'lookup', input: {} } } },
          { event: 'content_block_delta', data: { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '{"id":' } } },
          { event: 'content_block_delta', data: { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: ' 42}' } } },
          { event: 'content_block_stop', data: { type: 'content_block_stop', index: 0 } },
          { event: 'message_delta', data: { type: 'message_delta', delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 3 } } },
          { event: 'message_stop', data: { type: 'message_stop' } },
        ],
      },
      {
        sse: [
          { event: 'message_start', data: { type: 'message_start', message: { usage: { input_tokens: 9 } } } },
          { event: 'content_block_delta', data: { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'done' } } },
          { event: 'message_delta', data: { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 1 } } },
          { event: 'message_stop', data: { type: 'message_stop' } },
        ],
      },
    );
    const r = await postSse(`${srv.url}/v1/agents/a/stream`, { message: 'hi' });
    const done = r.events.find((e) => e.event === 'done');
    assert.ok(done, JSON.stringify(r.events));
    assert.deepEqual(done.data.tool_calls, unavailableCalls([{ id: 'tu_9', name: 'lookup', input: { id: 42 } }], 'a'));
    assert.equal(done.data.turns, 2);
    assert.deepEqual(done.data.tokens, { input: 14, output: 4, cache_read: 0, total: 18 });
  });

  test('stream that ends early is an error event, not a done', async () => {
    fake.replies.push({
      sse: [{ event: 'message_start', data: { type: 'message_start', message: { usage: { input_tokens: 5 } } } }],
    });
    const r = await postSse(`${srv.url}/v1/agents/a/stream`, { message: 'hi' });
    assert.equal(r.events.length, 1);
    assert.equal(r.events[0]?.event, 'error');
    assert.equal(r.events[0]?.data.error, 'upstream_error');
  });
});

describe('OpenAI-compatible Chat Completions', () => {
  let fake: FakeLlm;
  let srv: TestServer;
  before(async () => {
    fake = await startFakeLlm();
    const doc = irDoc({
      agents: [
        { name: 'g', model: 'gpt-4o', skills: ['lookup'], attrs: { temperature: 1.5 } },
        { name: 'reasoner', model: 'o3-mini' },
        { name: 'local', model: 'ollama/llama3' },
      ],
      prompts,
      skills,
    });
    srv = await startTestServer([doc], { env: { OPENAI_API_KEY: 'sk-oa-test', OPENAI_BASE_URL: `${fake.url}/v1`, OLLAMA_BASE_URL: `${fake.url}/ollama/v1` } });
  });
  after(async () => {
    await srv.close();
    await fake.close();
  });
  beforeEach(() => {
    fake.requests.length = 0;
    fake.replies.length = 0;
  });

  test('request shape: bearer key, system message first, temperature, tools; cached tokens split out', async () => {
    fake.replies.push(openaiCompletion({ content: 'Hello!' }, { prompt_tokens: 20, completion_tokens: 3, prompt_tokens_details: { cached_tokens: 8 } } as never));
    const r = await call(`${srv.url}/v1/agents/g/invoke`, 'POST', { message: 'hey' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.output, 'Hello!');
    assert.deepEqual(r.body.tokens, { input: 12, output: 3, cache_read: 8, total: 23 });
    const req = fake.requests[0]!;
    assert.equal(req.path, '/v1/chat/completions');
    assert.equal(req.headers.authorization, 'Bearer sk-oa-test');
    assert.equal(req.body.model, 'gpt-4o');
    assert.equal(req.body.temperature, 1.5);
    assert.deepEqual(req.body.messages, [
      { role: 'system', content: 'You help everyone.' },
      { role: 'user', content: 'hey' },
    ]);
    assert.deepEqual(req.body.tools, [
      {
        type: 'function',
        function: {
          name: 'lookup',
          description: 'Look up a record',
          parameters: { type: 'object', properties: { id: { type: 'integer' }, note: { type: 'string' } }, required: ['id'] },
        },
      },
    ]);
  });

  test('o3 models route to openai; ollama/ goes to OLLAMA_BASE_URL without a key', async () => {
    fake.replies.push(openaiCompletion({ content: 'r' }));
    assert.equal((await call(`${srv.url}/v1/agents/reasoner/invoke`, 'POST', { message: 'x' })).status, 200);
    assert.equal(fake.requests[0]?.body.model, 'o3-mini');
    assert.equal(fake.requests[0]?.body.temperature, undefined);
    assert.equal((await call(`${srv.url}/v1/agents/local/invoke`, 'POST', { message: 'x' })).status, 200);
    assert.equal(fake.requests[1]?.path, '/ollama/v1/chat/completions');
    assert.equal(fake.requests[1]?.body.model, 'llama3');
    assert.equal(fake.requests[1]?.headers.authorization, undefined);
  });

  test('tool call: tool message with tool_call_id sent back, loop continues', async () => {
    fake.replies.push(
      openaiCompletion({ content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"id":3}' } }] }, undefined, 'tool_calls'),
      openaiCompletion({ content: 'No tool, sorry.' }),
    );
    const r = await call(`${srv.url}/v1/agents/g/invoke`, 'POST', { message: 'find 3' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.output, 'No tool, sorry.');
    assert.equal(r.body.turns, 2);
    assert.deepEqual(r.body.tool_calls, unavailableCalls([{ id: 'call_1', name: 'lookup', input: { id: 3 } }], 'g'));
    const msgs = fake.requests[1]!.body.messages as Array<Record<string, unknown>>;
    assert.equal(msgs.length, 4);
    assert.deepEqual(msgs[2], {
      role: 'assistant',
      content: '',
      tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"id":3}' } }],
    });
    assert.equal(msgs[3]?.role, 'tool');
    assert.equal(msgs[3]?.tool_call_id, 'call_1');
    assert.match(String(msgs[3]?.content), /not available/);
  });

  test('streaming: content deltas, tool-call-free, usage in the final chunk, [DONE]', async () => {
    fake.replies.push({
      sse: [
        { data: { choices: [{ index: 0, delta: { role: 'assistant', content: '' } }] } },
        { data: { choices: [{ index: 0, delta: { content: 'Str' } }] } },
        { data: { choices: [{ index: 0, delta: { content: 'eam' } }] } },
        { data: { choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] } },
        { data: { choices: [], usage: { prompt_tokens: 9, completion_tokens: 2 } } },
        { data: '[DONE]' },
      ],
    });
    const r = await postSse(`${srv.url}/v1/agents/g/stream`, { message: 'go' });
    assert.equal(fake.requests[0]?.body.stream, true);
    assert.deepEqual(fake.requests[0]?.body.stream_options, { include_usage: true });
    assert.deepEqual(r.events.map((e) => e.event), ['text', 'text', 'done']);
    assert.equal(r.events[0]?.data.text, 'Str');
    assert.equal(r.events[2]?.data.output, 'Stream');
    assert.deepEqual(r.events[2]?.data.tokens, { input: 9, output: 2, cache_read: 0, total: 11 });
  });

  test('provider error body is reported as upstream_error', async () => {
    fake.replies.push({ json: { error: { message: 'model not found' } }, status: 404 });
    const r = await call(`${srv.url}/v1/agents/g/invoke`, 'POST', { message: 'x' });
    assert.equal(r.status, 502);
    assert.equal(r.body.error, 'upstream_error');
    assert.match(String(r.body.message), /model not found/);
  });
});

describe('missing OpenAI key', () => {
  test('503 unavailable naming OPENAI_API_KEY', async () => {
    const srv = await startTestServer([irDoc({ agents: [{ name: 'g', model: 'gpt-4o' }] })], { env: {} });
    try {
      const r = await call(`${srv.url}/v1/agents/g/invoke`, 'POST', { message: 'x' });
      assert.equal(r.status, 503);
      assert.equal(r.body.error, 'unavailable');
      assert.match(String(r.body.message), /OPENAI_API_KEY/);
    } finally {
      await srv.close();
    }
  });
});
