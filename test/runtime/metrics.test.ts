import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSessionStore, MemorySessionStore } from '../../src/session/index.ts';
import { buildAgentRegistry, ProviderRegistry } from '../../src/runtime/index.ts';
import { instrumentStore, RuntimeMetrics } from '../../src/runtime/metrics.ts';
import { runTools } from '../../src/runtime/tool-calls.ts';
import type { Tool } from '../../src/tools/index.ts';
import { startToolSet } from '../../src/tools/index.ts';
import { freePort, privateRedisOrSkip } from '../helpers/services.ts';
import { call, irDoc, startTestServer } from './fixtures.ts';

/** The value of one sample line (`name{labels} value`) in exposition text, or undefined. */
function sample(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

async function scrape(url: string): Promise<string> {
  const res = await fetch(`${url}/metrics`);
  assert.equal(res.status, 200);
  return res.text();
}

test('runTools counts each call into the metrics it is given, in seconds; without metrics it counts nothing', async () => {
  const agents = buildAgentRegistry([irDoc({ agents: [{ name: 'a' }] })], new ProviderRegistry({}));
  const metrics = new RuntimeMetrics({ agents, activeSessions: async () => 0 });
  const other = new RuntimeMetrics({ agents, activeSessions: async () => 0 });
  // Tools that take a known time, so the duration buckets can be checked.
  const timed = (name: string, kind: 'command' | 'http', ms: number, isError: boolean): Tool => ({
    name,
    kind,
    spec: { name, description: name, input_schema: { type: 'object' } },
    call: async () => {
      await new Promise((r) => setTimeout(r, ms));
      return { content: 'done', is_error: isError, truncated: false, bytes: 4 };
    },
  });
  const agent = {
    ...agents.get('a')!,
    executors: new Map<string, Tool>([
      ['lookup', timed('lookup', 'command', 1, false)],
      ['broken', timed('broken', 'command', 1, true)],
      ['fetch', timed('fetch', 'http', 1100, false)],
    ]),
  };
  const calls = [
    { id: 'c1', name: 'lookup', input: {} },
    { id: 'c2', name: 'broken', input: {} },
    { id: 'c3', name: 'fetch', input: {} },
  ];
  await runTools(agent, calls, { signal: new AbortController().signal });
  assert.doesNotMatch((await metrics.render()).body, /agentspec_tool_calls_total\{/);
  const results = await runTools(agent, calls, { signal: new AbortController().signal, metrics });
  assert.equal(results.length, 3);
  const text = (await metrics.render()).body;
  assert.equal(sample(text, 'agentspec_tool_calls_total{skill="lookup",kind="command",outcome="ok"}'), 1);
  assert.equal(sample(text, 'agentspec_tool_calls_total{skill="broken",kind="command",outcome="error"}'), 1);
  assert.equal(sample(text, 'agentspec_tool_calls_total{skill="fetch",kind="http",outcome="ok"}'), 1);
  assert.equal(sample(text, 'agentspec_tool_call_duration_seconds_bucket{le="2.5",skill="fetch",kind="http"}'), 1);
  assert.equal(sample(text, 'agentspec_tool_call_duration_seconds_bucket{le="1",skill="fetch",kind="http"}'), 0);
  assert.equal(sample(text, 'agentspec_tool_call_duration_seconds_bucket{le="0.5",skill="lookup",kind="command"}'), 1);
  assert.doesNotMatch((await other.render()).body, /agentspec_tool_calls_total\{/);
});

test('each server has its own registry: traffic on one never shows on another', async (t) => {
  const doc = irDoc({ agents: [{ name: 'bot' }] });
  const one = await startTestServer([doc]);
  const two = await startTestServer([doc]);
  t.after(async () => {
    await one.close();
    await two.close();
  });
  assert.equal((await call(`${one.url}/v1/agents/bot/invoke`, 'POST', { message: 'hi there' })).status, 200);
  const a = await scrape(one.url);
  const b = await scrape(two.url);
  assert.equal(sample(a, 'agentspec_http_requests_total{method="POST",route="/v1/agents/:name/invoke",status="200"}'), 1);
  assert.equal(sample(a, 'agentspec_model_call_duration_seconds_count{agent="bot",provider="echo",outcome="ok"}'), 1);
  assert.equal(sample(b, 'agentspec_http_requests_total{method="POST",route="/v1/agents/:name/invoke",status="200"}'), undefined);
  assert.equal(sample(b, 'agentspec_model_call_duration_seconds_count{agent="bot",provider="echo",outcome="ok"}'), undefined);
});

test('a model call that fails is observed with outcome error', async (t) => {
  // Nothing listens on this free port: the call fails with a network error.
  const srv = await startTestServer([irDoc({ agents: [{ name: 'gpt', model: 'gpt-test' }] })], {
    env: { OPENAI_API_KEY: 'k', OPENAI_BASE_URL: `http://127.0.0.1:${await freePort()}/v1` },
  });
  t.after(() => srv.close());
  assert.equal((await call(`${srv.url}/v1/agents/gpt/invoke`, 'POST', { message: 'x' })).status, 502);
  const text = await scrape(srv.url);
  assert.equal(sample(text, 'agentspec_model_call_duration_seconds_count{agent="gpt",provider="openai",outcome="error"}'), 1);
  assert.equal(sample(text, 'agentspec_model_tokens_total{agent="gpt",provider="openai",kind="input"}'), undefined);
});

test('the instrumented store counts appends, leaves caller errors out, and behaves like the store', async () => {
  const agents = buildAgentRegistry([irDoc({ agents: [{ name: 'a' }] })], new ProviderRegistry({}));
  const metrics = new RuntimeMetrics({ agents, activeSessions: async () => 0 });
  const store = instrumentStore(new MemorySessionStore({}), metrics);
  const s = await store.create('a');
  assert.equal(await store.appendMessages(s.id, [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'a' }]), 2);
  await assert.rejects(store.appendMessages('sess_AAAAAAAAAAAAAAAAAAAAAA', [{ role: 'user', content: 'q' }]), { code: 'E_SESSION_NOT_FOUND' });
  assert.equal((await store.loadMessages(s.id)).total, 2);
  const text = (await metrics.render()).body;
  assert.equal(sample(text, 'agentspec_session_appends_total'), 1);
  assert.equal(sample(text, 'agentspec_session_messages_appended_total'), 2);
  assert.doesNotMatch(text, /agentspec_session_store_errors_total\{/);
  await store.close();
});

test('Redis down: store errors are counted by operation, and /metrics still answers', { timeout: 60_000 }, async (t) => {
  const redis = await privateRedisOrSkip(t);
  if (redis === undefined) return;
  const store = await createSessionStore({ kind: 'redis', url: redis.url, keyPrefix: `agentspec-metrics-${randomBytes(6).toString('hex')}` });
  const srv = await startTestServer([irDoc({ agents: [{ name: 'bot' }] })], { store });
  t.after(async () => {
    await srv.close();
    await redis.stop();
  });
  const created = await call(`${srv.url}/v1/agents/bot/sessions`, 'POST', {});
  assert.equal(created.status, 201);
  const id = String(created.body.session_id);
  assert.equal((await call(`${srv.url}/v1/agents/bot/sessions/${id}`, 'POST', { message: 'hi' })).status, 200);
  let text = await scrape(srv.url);
  assert.equal(sample(text, 'agentspec_active_sessions{agent="bot"}'), 1);
  assert.equal(sample(text, 'agentspec_session_appends_total'), 1);

  await redis.stop();
  assert.equal((await call(`${srv.url}/v1/agents/bot/sessions/${id}`, 'GET')).status, 503);
  text = await scrape(srv.url);
  assert.equal(sample(text, 'agentspec_session_store_errors_total{operation="get",code="E_SESSION_STORE_UNAVAILABLE"}'), 1);
  // Counting sessions failed during that scrape: the gauge is empty rather than stale, and the
  // failed count shows from the next scrape on (the counter was written before it failed).
  assert.equal(sample(text, 'agentspec_active_sessions{agent="bot"}'), undefined);
  text = await scrape(srv.url);
  assert.ok((sample(text, 'agentspec_session_store_errors_total{operation="count",code="E_SESSION_STORE_UNAVAILABLE"}') ?? 0) >= 1);
  assert.equal(sample(text, 'agentspec_http_requests_total{method="GET",route="/v1/agents/:name/sessions/:id",status="503"}'), 1);
});

test('a tool the model calls through the runtime is counted by skill, kind and outcome', async (t) => {
  const docs = [
    irDoc({
      agents: [{ name: 'local', skills: ['shout', 'fail'] }],
      skills: {
        shout: { description: 'Repeat the word', input: [{ name: 'word', type: 'string', required: true }], tool: { type: 'command', binary: 'echo', args: ['said:', '{{word}}'] } },
        fail: { description: 'Always fails', input: [], tool: { type: 'command', binary: 'false', args: [] } },
      },
    }),
  ];
  const tools = await startToolSet(docs, { env: process.env, sandbox: 'off' });
  const srv = await startTestServer(docs, { tools });
  t.after(() => srv.close());
  const ok = await call(`${srv.url}/v1/agents/local/invoke`, 'POST', { message: '/tool shout {"word": "hi"}' });
  assert.equal(ok.status, 200);
  const bad = await call(`${srv.url}/v1/agents/local/invoke`, 'POST', { message: '/tool fail {}' });
  assert.equal(bad.status, 200);
  const text = await scrape(srv.url);
  assert.equal(sample(text, 'agentspec_tool_calls_total{skill="shout",kind="command",outcome="ok"}'), 1);
  assert.equal(sample(text, 'agentspec_tool_calls_total{skill="fail",kind="command",outcome="error"}'), 1);
  assert.equal(sample(text, 'agentspec_tool_call_duration_seconds_count{skill="shout",kind="command"}'), 1);
});
