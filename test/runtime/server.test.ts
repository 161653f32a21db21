import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { VERSION } from '../../src/version.ts';
import { call, irDoc, startTestServer, type TestServer } from './fixtures.ts';

const doc = irDoc({
  agents: [
    { name: 'helper', model: 'echo', skills: ['lookup'], attrs: { strategy: 'react' } },
    { name: 'other', model: 'echo-2', prompt: 'greeting' },
    { name: 'claude-agent', model: 'claude-sonnet-4-20250514' },
  ],
  prompts: {
    system: { content: 'You are a test assistant.' },
    greeting: { content: 'Greet {{ who }} in {{lang}}.', variables: [{ name: 'who', required: true }, { name: 'lang', default: 'English' }] },
  },
  skills: { lookup: { description: 'Look something up', input: [{ name: 'query', type: 'string', required: true }] } },
});

describe('runtime HTTP API (no keys)', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer([doc]);
  });
  after(async () => {
    await srv.close();
  });

  test('GET /healthz', async () => {
    const r = await call(`${srv.url}/healthz`, 'GET');
    assert.equal(r.status, 200);
    assert.equal(r.body.status, 'healthy');
    assert.equal(r.body.agents, 3);
    assert.equal(r.body.version, VERSION);
    // A Go duration string, as the original sent it (its SDKs decode a string).
    assert.match(String(r.body.uptime), /^(\d+h)?(\d+m)?\d+(\.\d+)?(ms|s)$/);
  });

  test('GET /v1/agents lists agents with their shape', async () => {
    const r = await call(`${srv.url}/v1/agents`, 'GET');
    assert.equal(r.status, 200);
    const agents = r.body.agents as Array<Record<string, unknown>>;
    assert.deepEqual(agents.map((a) => a.name), ['claude-agent', 'helper', 'other']);
    const helper = agents.find((a) => a.name === 'helper');
    assert.deepEqual(helper, {
      name: 'helper',
      fqn: 'test-pkg/Agent/helper',
      model: 'echo',
      strategy: 'react',
      status: 'running',
      skills: ['lookup'],
      active_sessions: 0,
    });
    // No ANTHROPIC_API_KEY in this server's environment: reported, not hidden.
    const claude = agents.find((a) => a.name === 'claude-agent');
    assert.equal(claude?.status, 'unavailable');
    assert.match(String(claude?.status_reason), /ANTHROPIC_API_KEY/);
  });

  test('POST invoke answers with output, tokens, turns, duration', async () => {
    const r = await call(`${srv.url}/v1/agents/helper/invoke`, 'POST', { message: 'hello there' });
    assert.equal(r.status, 200);
    assert.equal(r.body.output, 'echo: hello there (messages: 1)');
    assert.deepEqual(r.body.tool_calls, []);
    const tokens = r.body.tokens as { input: number; output: number; cache_read: number; total: number };
    assert.deepEqual(Object.keys(tokens).sort(), ['cache_read', 'input', 'output', 'total']);
    assert.equal(tokens.total, tokens.input + tokens.output + tokens.cache_read);
    assert.ok(tokens.output > 0);
    assert.equal(r.body.turns, 1);
    assert.equal(typeof r.body.duration_ms, 'number');
    assert.equal(r.body.session_id, '');
  });

  test('missing API key for a provider: 503 unavailable naming the variable', async () => {
    const r = await call(`${srv.url}/v1/agents/claude-agent/invoke`, 'POST', { message: 'hi' });
    assert.equal(r.status, 503);
    assert.equal(r.body.error, 'unavailable');
    assert.match(String(r.body.message), /ANTHROPIC_API_KEY/);
  });

  test('400 names the offending field', async () => {
    let r = await call(`${srv.url}/v1/agents/helper/invoke`, 'POST', { msg: 'x' });
    assert.equal(r.status, 400);
    assert.equal(r.body.error, 'invalid_request');
    assert.match(String(r.body.message), /\bmessage\b/);
    r = await call(`${srv.url}/v1/agents/helper/invoke`, 'POST', { message: 'x', variables: { a: 1 } });
    assert.equal(r.status, 400);
    assert.match(String(r.body.message), /variables\.a/);
    r = await call(`${srv.url}/v1/agents/helper/invoke`, 'POST', '{not json');
    assert.equal(r.status, 400);
    assert.equal(r.body.error, 'invalid_request');
    r = await call(`${srv.url}/v1/agents/other/invoke`, 'POST', { message: 'x' });
    assert.equal(r.status, 400);
    assert.match(String(r.body.message), /variables\.who/);
  });

  test('unknown agent and unknown route are 404 not_found', async () => {
    let r = await call(`${srv.url}/v1/agents/nobody/invoke`, 'POST', { message: 'x' });
    assert.equal(r.status, 404);
    assert.equal(r.body.error, 'not_found');
    r = await call(`${srv.url}/v1/nothing`, 'GET');
    assert.equal(r.status, 404);
    assert.equal(r.body.error, 'not_found');
  });

  test('body over the limit: 413 with a JSON error', async () => {
    const r = await call(`${srv.url}/v1/agents/helper/invoke`, 'POST', { message: 'x'.repeat(1024 * 1024 + 10) });
    assert.equal(r.status, 413);
    assert.equal(r.body.error, 'payload_too_large');
    assert.equal(typeof r.body.message, 'string');
  });

  test('session lifecycle: create, message, history, page, delete', async () => {
    const created = await call(`${srv.url}/v1/agents/helper/sessions`, 'POST', { metadata: { user: 'u1' } });
    assert.equal(created.status, 201);
    const id = String(created.body.session_id);
    assert.match(id, /^sess_[A-Za-z0-9_-]{22}$/);
    assert.equal(created.body.agent, 'helper');
    assert.ok(!Number.isNaN(Date.parse(String(created.body.created_at))));

    const m1 = await call(`${srv.url}/v1/agents/helper/sessions/${id}`, 'POST', { message: 'first' });
    assert.equal(m1.status, 200);
    assert.equal(m1.body.output, 'echo: first (messages: 1)');
    assert.equal(m1.body.session_id, id);
    assert.equal(m1.body.turns, 1);
    assert.equal(typeof m1.body.duration_ms, 'number');
    // The history is sent to the model: the second call sees 3 messages.
    const m2 = await call(`${srv.url}/v1/agents/helper/sessions/${id}`, 'POST', { message: 'second' });
    assert.equal(m2.body.output, 'echo: second (messages: 3)');
    // invoke with session_id joins the same conversation.
    const m3 = await call(`${srv.url}/v1/agents/helper/invoke`, 'POST', { message: 'third', session_id: id });
    assert.equal(m3.status, 200);
    assert.equal(m3.body.output, 'echo: third (messages: 5)');
    assert.equal(m3.body.session_id, id);

    const hist = await call(`${srv.url}/v1/agents/helper/sessions/${id}`, 'GET');
    assert.equal(hist.status, 200);
    assert.equal(hist.body.session_id, id);
    assert.equal(hist.body.agent, 'helper');
    assert.equal(hist.body.total, 6);
    assert.deepEqual(hist.body.messages, [
      { seq: 1, role: 'user', content: 'first' },
      { seq: 2, role: 'assistant', content: 'echo: first (messages: 1)' },
      { seq: 3, role: 'user', content: 'second' },
      { seq: 4, role: 'assistant', content: 'echo: second (messages: 3)' },
      { seq: 5, role: 'user', content: 'third' },
      { seq: 6, role: 'assistant', content: 'echo: third (messages: 5)' },
    ]);
    assert.deepEqual([m1.body.first_seq, m1.body.last_seq, m3.body.first_seq, m3.body.last_seq], [1, 2, 5, 6]);
    const page = await call(`${srv.url}/v1/agents/helper/sessions/${id}?offset=2&limit=2`, 'GET');
    assert.equal(page.body.total, 6);
    assert.deepEqual((page.body.messages as Array<{ content: string }>).map((m) => m.content), ['second', 'echo: second (messages: 3)']);
    const after = await call(`${srv.url}/v1/agents/helper/sessions/${id}?after_seq=4&limit=1`, 'GET');
    assert.deepEqual((after.body.messages as Array<{ seq: number }>).map((m) => m.seq), [5]);
    for (const [query, field] of [['offset=-1', 'offset'], ['after_seq=x', 'after_seq'], ['after_seq=2&offset=1', 'after_seq']]) {
      const badPage = await call(`${srv.url}/v1/agents/helper/sessions/${id}?${query}`, 'GET');
      assert.equal(badPage.status, 400, query);
      assert.match(String(badPage.body.message), new RegExp(`^invalid request: ${field}:`), query);
    }

    const agents = await call(`${srv.url}/v1/agents`, 'GET');
    const helper = (agents.body.agents as Array<Record<string, unknown>>).find((a) => a.name === 'helper');
    assert.ok(Number(helper?.active_sessions) >= 1);

    const del = await call(`${srv.url}/v1/agents/helper/sessions/${id}`, 'DELETE');
    assert.equal(del.status, 204);
    const gone = await call(`${srv.url}/v1/agents/helper/sessions/${id}`, 'GET');
    assert.equal(gone.status, 404);
    assert.equal(gone.body.error, 'not_found');
    // Idempotent, as the original runtime was: deleting what is gone succeeds.
    const again = await call(`${srv.url}/v1/agents/helper/sessions/${id}`, 'DELETE');
    assert.equal(again.status, 204);
    const msgGone = await call(`${srv.url}/v1/agents/helper/sessions/${id}`, 'POST', { message: 'late' });
    assert.equal(msgGone.status, 404);
  });

  test("another agent's path cannot read, write or delete a session", async () => {
    const created = await call(`${srv.url}/v1/agents/helper/sessions`, 'POST', {});
    const id = String(created.body.session_id);
    await call(`${srv.url}/v1/agents/helper/sessions/${id}`, 'POST', { message: 'secret' });
    for (const [method, body] of [['GET', undefined], ['POST', { message: 'x', variables: { who: 'a' } }]] as const) {
      const r = await call(`${srv.url}/v1/agents/other/sessions/${id}`, method, body);
      assert.equal(r.status, 404, method);
      assert.equal(r.body.error, 'not_found');
    }
    // A DELETE there answers like one of a missing session (204) and deletes nothing.
    assert.equal((await call(`${srv.url}/v1/agents/other/sessions/${id}`, 'DELETE')).status, 204);
    const inv = await call(`${srv.url}/v1/agents/other/invoke`, 'POST', { message: 'x', session_id: id, variables: { who: 'a' } });
    assert.equal(inv.status, 404);
    const still = await call(`${srv.url}/v1/agents/helper/sessions/${id}`, 'GET');
    assert.equal(still.body.total, 2);
    const malformed = await call(`${srv.url}/v1/agents/helper/sessions/not-an-id`, 'GET');
    assert.equal(malformed.status, 404);
  });

  test('prompt variables: request values and declared defaults reach the system prompt', async () => {
    const r = await call(`${srv.url}/v1/agents/other/invoke`, 'POST', { message: 'hi', variables: { who: 'Ada' } });
    assert.equal(r.status, 200);
    // echo counts system prompt words into input tokens: "Greet Ada in English." = 4 words + "hi" = 1.
    assert.equal((r.body.tokens as Record<string, number>).input, 5);
  });
});

describe('runtime HTTP API with API keys', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer([doc], { apiKeys: ['key-one', 'key-two'] });
  });
  after(async () => {
    await srv.close();
  });

  test('401 without a key and with a wrong key; /healthz stays open', async () => {
    let r = await call(`${srv.url}/v1/agents`, 'GET');
    assert.equal(r.status, 401);
    assert.equal(r.body.error, 'unauthorized');
    r = await call(`${srv.url}/v1/agents`, 'GET', undefined, { 'x-api-key': 'key-three' });
    assert.equal(r.status, 401);
    r = await call(`${srv.url}/v1/agents`, 'GET', undefined, { authorization: 'Bearer key-on' });
    assert.equal(r.status, 401);
    r = await call(`${srv.url}/v1/agents/helper/invoke`, 'POST', { message: 'x' });
    assert.equal(r.status, 401);
    r = await call(`${srv.url}/healthz`, 'GET');
    assert.equal(r.status, 200);
  });

  test('X-API-Key and Authorization: Bearer are accepted', async () => {
    let r = await call(`${srv.url}/v1/agents`, 'GET', undefined, { 'x-api-key': 'key-one' });
    assert.equal(r.status, 200);
    r = await call(`${srv.url}/v1/agents/helper/invoke`, 'POST', { message: 'hi' }, { authorization: 'Bearer key-two' });
    assert.equal(r.status, 200);
    assert.equal(r.body.output, 'echo: hi (messages: 1)');
  });
});

describe('rate limit', () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer([doc], { apiKeys: ['k1', 'k2'], rateLimit: 3 });
  });
  after(async () => {
    await srv.close();
  });

  test('429 with Retry-After after N requests per minute, counted per key', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await call(`${srv.url}/v1/agents`, 'GET', undefined, { 'x-api-key': 'k1' });
      assert.equal(r.status, 200);
    }
    const limited = await call(`${srv.url}/v1/agents`, 'GET', undefined, { 'x-api-key': 'k1' });
    assert.equal(limited.status, 429);
    assert.equal(limited.body.error, 'rate_limited');
    const retryAfter = Number(limited.headers.get('retry-after'));
    assert.ok(retryAfter > 0 && retryAfter <= 60, `retry-after ${retryAfter}`);
    // Another key has its own budget.
    const other = await call(`${srv.url}/v1/agents`, 'GET', undefined, { authorization: 'Bearer k2' });
    assert.equal(other.status, 200);
    // Guessing keys is limited too (per client address).
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await call(`${srv.url}/v1/agents`, 'GET', undefined, { 'x-api-key': `guess-${i}` })).status);
    assert.deepEqual(statuses, [401, 401, 401, 429, 429]);
  });
});
