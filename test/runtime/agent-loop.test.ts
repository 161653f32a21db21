import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { anthropicMessage, startFakeLlm, type FakeLlm } from './fake-llm.ts';
import { call, irDoc, startTestServer, type TestServer } from './fixtures.ts';
import { postSse } from './sse-client.ts';

const toolUse = anthropicMessage([{ type: 'tool_use', id: 'tu', name: 'lookup', input: {} }], { input_tokens: 10, output_tokens: 5 }, 'tool_use');
const text = (t: string) => anthropicMessage([{ type: 'text', text: t }]);

describe('agent loop limits, retries and fallback', () => {
  let fake: FakeLlm;
  let srv: TestServer;
  before(async () => {
    fake = await startFakeLlm();
    const skills = { lookup: { description: 'd', input: [{ name: 'q', type: 'string' }] } };
    const doc = irDoc({
      agents: [
        { name: 'turns', model: 'claude-x', skills: ['lookup'], attrs: { max_turns: 3 } },
        { name: 'budget', model: 'claude-x', skills: ['lookup'], attrs: { token_budget: 40 } },
        { name: 'slow', model: 'claude-x', attrs: { timeout: '300ms' } },
        { name: 'retrying', model: 'claude-x', attrs: { on_error: 'retry', max_retries: 2 } },
        { name: 'failing', model: 'claude-x', attrs: { on_error: 'fail', max_retries: 5 } },
        { name: 'primary', model: 'claude-x', attrs: { on_error: 'fallback', fallback: 'backup', max_retries: 1 } },
        { name: 'backup', model: 'echo' },
      ],
      skills,
    });
    srv = await startTestServer([doc], { env: { ANTHROPIC_API_KEY: 'k', ANTHROPIC_BASE_URL: fake.url } });
  });
  after(async () => {
    await srv.close();
    await fake.close();
  });
  beforeEach(() => {
    fake.requests.length = 0;
    fake.replies.length = 0;
  });

  test('max_turns bounds a model that keeps calling tools', async () => {
    fake.replies.push(toolUse);
    const r = await call(`${srv.url}/v1/agents/turns/invoke`, 'POST', { message: 'loop' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.turns, 3);
    assert.equal(r.body.stop_reason, 'max_turns');
    assert.equal(fake.requests.length, 3);
    assert.equal((r.body.tool_calls as unknown[]).length, 3);
  });

  test('token_budget stops the loop once spent, and caps max_tokens of the next call', async () => {
    fake.replies.push(toolUse);
    const r = await call(`${srv.url}/v1/agents/budget/invoke`, 'POST', { message: 'spend' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    // 15 tokens per call: 15, 30, 45 >= 40 -> stop after the third call.
    assert.equal(fake.requests.length, 3);
    assert.equal(r.body.stop_reason, 'token_budget');
    assert.equal((r.body.tokens as { total: number }).total, 45);
    assert.deepEqual(fake.requests.map((q) => q.body.max_tokens), [40, 25, 10]);
  });

  test('timeout: the request deadline aborts the model call with 504', async () => {
    fake.replies.push({ hang: true });
    const r = await call(`${srv.url}/v1/agents/slow/invoke`, 'POST', { message: 'wait' });
    assert.equal(r.status, 504);
    assert.equal(r.body.error, 'timeout');
    assert.match(String(r.body.message), /300ms/);
  });

  test('timeout in a stream is an error event', async () => {
    fake.replies.push({ hang: true });
    const r = await postSse(`${srv.url}/v1/agents/slow/stream`, { message: 'wait' });
    assert.deepEqual(r.events.map((e) => e.event), ['error']);
    assert.equal(r.events[0]?.data.error, 'timeout');
  });

  test('on_error retry: transient 5xx/429 are retried up to max_retries', async () => {
    fake.replies.push({ json: { error: { message: 'overloaded' } }, status: 529 }, { json: { error: { message: 'slow down' } }, status: 429 }, text('third time'));
    const r = await call(`${srv.url}/v1/agents/retrying/invoke`, 'POST', { message: 'x' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.output, 'third time');
    assert.equal(fake.requests.length, 3);
  });

  test('retries exhausted: 502 upstream_error after 1 + max_retries calls', async () => {
    fake.replies.push({ json: { error: { message: 'down' } }, status: 500 });
    const r = await call(`${srv.url}/v1/agents/retrying/invoke`, 'POST', { message: 'x' });
    assert.equal(r.status, 502);
    assert.equal(r.body.error, 'upstream_error');
    assert.equal(fake.requests.length, 3);
  });

  test('a 4xx is not retried; on_error fail never retries', async () => {
    fake.replies.push({ json: { error: { message: 'bad request' } }, status: 400 });
    let r = await call(`${srv.url}/v1/agents/retrying/invoke`, 'POST', { message: 'x' });
    assert.equal(r.status, 502);
    assert.equal(fake.requests.length, 1);
    fake.requests.length = 0;
    fake.replies.length = 0;
    fake.replies.push({ json: { error: { message: 'down' } }, status: 503 });
    r = await call(`${srv.url}/v1/agents/failing/invoke`, 'POST', { message: 'x' });
    assert.equal(r.status, 502);
    assert.equal(fake.requests.length, 1);
  });

  test('on_error fallback: after retries the fallback agent answers', async () => {
    fake.replies.push({ json: { error: { message: 'down' } }, status: 500 });
    const r = await call(`${srv.url}/v1/agents/primary/invoke`, 'POST', { message: 'help' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(fake.requests.length, 2);
    assert.equal(r.body.output, 'echo: help (messages: 1)');
    assert.equal(r.body.agent, 'backup');
  });

  test('failed model call: nothing appended; save_partial keeps the question', async () => {
    const s = await call(`${srv.url}/v1/agents/failing/sessions`, 'POST', {});
    const id = String(s.body.session_id);
    fake.replies.push(text('fine'));
    assert.equal((await call(`${srv.url}/v1/agents/failing/sessions/${id}`, 'POST', { message: 'one' })).status, 200);
    fake.replies.length = 0;
    fake.replies.push({ json: { error: { message: 'down' } }, status: 500 });
    const failed = await call(`${srv.url}/v1/agents/failing/sessions/${id}`, 'POST', { message: 'two' });
    assert.equal(failed.status, 502);
    let hist = await call(`${srv.url}/v1/agents/failing/sessions/${id}`, 'GET');
    assert.deepEqual((hist.body.messages as Array<{ content: string }>).map((m) => m.content), ['one', 'fine']);
    const partial = await call(`${srv.url}/v1/agents/failing/sessions/${id}`, 'POST', { message: 'three', save_partial: true });
    assert.equal(partial.status, 502);
    hist = await call(`${srv.url}/v1/agents/failing/sessions/${id}`, 'GET');
    assert.deepEqual((hist.body.messages as Array<{ content: string }>).map((m) => m.content), ['one', 'fine', 'three']);
  });
});

describe('client disconnect', () => {
  test('aborts the model call and saves nothing', { timeout: 30_000 }, async () => {
    const fake = await startFakeLlm();
    const srv = await startTestServer([irDoc({ agents: [{ name: 'a', model: 'claude-x' }] })], {
      env: { ANTHROPIC_API_KEY: 'k', ANTHROPIC_BASE_URL: fake.url },
    });
    try {
      const s = await call(`${srv.url}/v1/agents/a/sessions`, 'POST', {});
      const id = String(s.body.session_id);
      fake.replies.push({ hang: true });
      for (const path of [`/v1/agents/a/sessions/${id}`, '/v1/agents/a/stream']) {
        const before = fake.requests.length;
        const controller = new AbortController();
        const pending = fetch(`${srv.url}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ message: 'never mind', session_id: id }),
          signal: controller.signal,
        }).then((r) => r.text());
        while (fake.requests.length === before) await new Promise((r) => setTimeout(r, 10));
        controller.abort();
        await assert.rejects(pending);
        // The runtime hangs up on the provider in turn.
        while (fake.abandoned() < before + 1) await new Promise((r) => setTimeout(r, 10));
      }
      const hist = await call(`${srv.url}/v1/agents/a/sessions/${id}`, 'GET');
      assert.equal(hist.body.total, 0);
    } finally {
      await srv.close();
      await fake.close();
    }
  });
});
