import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSessionStore } from '../../src/session/index.ts';
import { privateRedisOrSkip } from '../helpers/services.ts';
import { openaiCompletion, startFakeLlm } from './fake-llm.ts';
import { call, irDoc, startTestServer } from './fixtures.ts';

test('Redis down: session calls answer 503 unavailable and never claim a save', { timeout: 60_000 }, async (t) => {
  const redis = await privateRedisOrSkip(t);
  if (redis === undefined) return;
  const fake = await startFakeLlm();
  const doc = irDoc({ agents: [{ name: 'chat', model: 'echo' }, { name: 'gated', model: 'gpt-test' }] });
  const store = await createSessionStore({ kind: 'redis', url: redis.url, keyPrefix: `agentspec-test-${randomBytes(6).toString('hex')}` });
  const srv = await startTestServer([doc], { store, env: { OPENAI_API_KEY: 'k', OPENAI_BASE_URL: fake.url } });
  try {
    const created = await call(`${srv.url}/v1/agents/chat/sessions`, 'POST', {});
    assert.equal(created.status, 201);
    const id = String(created.body.session_id);
    assert.equal((await call(`${srv.url}/v1/agents/chat/sessions/${id}`, 'POST', { message: 'before' })).status, 200);

    await redis.stop();
    const checks: Array<[string, string, unknown]> = [
      ['POST', `/v1/agents/chat/sessions/${id}`, { message: 'during' }],
      ['POST', '/v1/agents/chat/invoke', { message: 'during', session_id: id }],
      ['GET', `/v1/agents/chat/sessions/${id}`, undefined],
      ['POST', '/v1/agents/chat/sessions', {}],
      ['DELETE', `/v1/agents/chat/sessions/${id}`, undefined],
      ['GET', '/v1/agents', undefined],
    ];
    for (const [method, path, body] of checks) {
      const r = await call(`${srv.url}${path}`, method, body);
      assert.equal(r.status, 503, `${method} ${path}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error, 'unavailable');
      assert.equal(typeof r.body.message, 'string');
    }
    // What needs no store keeps working.
    assert.equal((await call(`${srv.url}/healthz`, 'GET')).status, 200);
    assert.equal((await call(`${srv.url}/v1/agents/chat/invoke`, 'POST', { message: 'stateless' })).status, 200);

    // The model answers, but Redis goes away before the turn is saved: the client must not get a 200.
    await redis.start();
    // The store reconnects by itself; until it has, calls keep answering 503.
    let s2 = await call(`${srv.url}/v1/agents/gated/sessions`, 'POST', {});
    const deadline = Date.now() + 20_000;
    while (s2.status === 503 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      s2 = await call(`${srv.url}/v1/agents/gated/sessions`, 'POST', {});
    }
    assert.equal(s2.status, 201, JSON.stringify(s2.body));
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    fake.replies.push(async () => {
      await gate;
      return openaiCompletion({ content: 'answer that cannot be saved' });
    });
    const pending = call(`${srv.url}/v1/agents/gated/sessions/${String(s2.body.session_id)}`, 'POST', { message: 'question' });
    while (fake.requests.length === 0) await new Promise((r) => setTimeout(r, 10));
    await redis.stop();
    open();
    const r = await pending;
    assert.equal(r.status, 503, JSON.stringify(r.body));
    assert.equal(r.body.error, 'unavailable');
  } finally {
    await srv.close();
    await fake.close();
    await redis.stop();
  }
});
