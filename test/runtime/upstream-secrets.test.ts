// What API clients may learn from failures, against a real `agentspec run`: a provider's URL,
// credentials and reflected keys stay in the (redacted) server log; internal errors are a request id.
import http from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from 'redis';
import { redisUrlOrSkip } from '../helpers/services.ts';
import { irDoc } from './fixtures.ts';
import { startRunChild, type RunChild } from './run-child.ts';
import { listenOnLoopback } from '../helpers/loopback-server.ts';

const API_KEY = 'sk-live-REFLECTEDKEY-0123456789abcdef';
const PATH_TOKEN = 'tok9f8e7d6c5b4a39281706';
const PASSWORD = 'hunter2-very-secret';

/** An upstream that refuses every call and reflects the key it was sent, as some gateways do. */
async function reflectingUpstream(): Promise<{ url: string; seen: string[]; close(): Promise<void> }> {
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    seen.push(req.url ?? '');
    req.resume();
    req.on('end', () => {
      const sent = String(req.headers.authorization ?? req.headers['x-api-key'] ?? '');
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: `Incorrect API key provided: ${sent} (route ${req.url ?? ''})` } }));
    });
  });
  const listening = await listenOnLoopback(server);
  return { ...listening, seen };
}

function assertClean(text: string, port: string): void {
  for (const secret of [API_KEY, PATH_TOKEN, PASSWORD, `127.0.0.1:${port}`, 'Incorrect API key']) {
    assert.ok(!text.includes(secret), `leaked ${secret}: ${text}`);
  }
}

describe('upstream errors reach clients without secrets (real agentspec run)', () => {
  let dir: string;
  let upstream: Awaited<ReturnType<typeof reflectingUpstream>>;
  let run: RunChild;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'agentspec-secrets-'));
    upstream = await reflectingUpstream();
    const doc = irDoc({ agents: [{ name: 'gpt', model: 'gpt-4o' }, { name: 'claude', model: 'claude-test' }] });
    await writeFile(path.join(dir, 'ir.json'), JSON.stringify(doc));
    const port = new URL(upstream.url).port;
    run = await startRunChild(['--ir', path.join(dir, 'ir.json')], {
      OPENAI_API_KEY: API_KEY,
      OPENAI_BASE_URL: `${upstream.url}/gateway/${PATH_TOKEN}/v1`,
      ANTHROPIC_API_KEY: API_KEY,
      ANTHROPIC_BASE_URL: `http://admin:${PASSWORD}@127.0.0.1:${port}/anthropic`,
    });
  });
  after(async () => {
    await run.stop();
    await upstream.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('invoke: upstream_error with the provider and status only; the log has the redacted URL', async () => {
    const res = await fetch(`${run.url}/v1/agents/gpt/invoke`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"message":"hi"}' });
    const text = await res.text();
    assert.equal(res.status, 502);
    assert.deepEqual(JSON.parse(text), { error: 'upstream_error', message: 'model provider "openai" failed (HTTP 401)' });
    assert.ok(upstream.seen.some((u) => u.includes(PATH_TOKEN)), 'the call really reached the upstream');
    const line = run.logs().find((l) => l.msg === 'model provider failed' && l.provider === 'openai');
    assert.ok(line, run.stderr());
    assert.equal(line.status, 401);
    assert.match(String(line.err), /HTTP 401 from http:\/\/127\.0\.0\.1:\d+\/gateway\/\*\*\*\/v1\/chat\/completions: Incorrect API key provided: (Bearer )?\*\*\*/);
    assert.ok(!run.stderr().includes(API_KEY) && !run.stderr().includes(PATH_TOKEN), 'the log has neither the key nor the path token');
  });

  test('stream: the error event says the same and no more', async () => {
    const res = await fetch(`${run.url}/v1/agents/gpt/stream`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"message":"hi"}' });
    const text = await res.text();
    assertClean(text, new URL(upstream.url).port);
    assert.match(text, /event: error\ndata: \{"error":"upstream_error","message":"model provider \\"openai\\" failed \(HTTP 401\)","status":502\}/);
  });

  test('user:password@ in a base URL never reaches a client or the log', async () => {
    const res = await fetch(`${run.url}/v1/agents/claude/invoke`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"message":"hi"}' });
    const text = await res.text();
    assert.equal(res.status, 502);
    assertClean(text, new URL(upstream.url).port);
    assert.equal(JSON.parse(text).error, 'upstream_error');
    assert.match(JSON.parse(text).message as string, /^model provider "anthropic" failed/);
    assert.ok(!run.stderr().includes(PASSWORD), 'the password is not in the log');
    const line = run.logs().find((l) => l.msg === 'model provider failed' && l.provider === 'anthropic');
    assert.match(String(line?.err), /http:\/\/127\.0\.0\.1:\d+\/anthropic\/v1\/messages/);
  });
});

describe('internal errors are a request id for the client, the details in the log (real agentspec run, Redis)', () => {
  test('a Redis WRONGTYPE is a generic 500 with a request id the log line carries; the agent listing still works', async (t) => {
    const redisUrl = await redisUrlOrSkip(t);
    if (redisUrl === undefined) return;
    const dir = await mkdtemp(path.join(os.tmpdir(), 'agentspec-500-'));
    await writeFile(path.join(dir, 'ir.json'), JSON.stringify(irDoc({ agents: [{ name: 'bot' }] })));
    const run = await startRunChild(['--ir', path.join(dir, 'ir.json'), '--session-store', 'redis', '--redis-url', redisUrl]);
    const redis = createClient({ url: redisUrl });
    await redis.connect();
    let bad = '';
    try {
      const post = (p: string, body: string) => fetch(`${run.url}${p}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      const good = String(((await (await post('/v1/agents/bot/sessions', '{}')).json()) as { session_id: string }).session_id);
      bad = String(((await (await post('/v1/agents/bot/sessions', '{}')).json()) as { session_id: string }).session_id);
      // Someone (a bug, an operator) overwrote one session's hash with a plain string.
      await redis.set(`agentspec:session:{${bad}}`, 'not a hash');
      const res = await fetch(`${run.url}/v1/agents/bot/sessions/${bad}`);
      const body = (await res.json()) as { error: string; message: string; request_id: string };
      assert.equal(res.status, 500);
      assert.equal(body.error, 'internal_error');
      assert.doesNotMatch(body.message, /WRONGTYPE|redis/i);
      assert.match(body.request_id, /^req_[0-9a-f]{16}$/);
      assert.match(body.message, new RegExp(body.request_id));
      assert.equal(res.headers.get('x-request-id'), body.request_id);
      const line = run.logs().find((l) => l.request_id === body.request_id && l.level === 50);
      assert.ok(line, run.stderr());
      assert.match(JSON.stringify(line), /WRONGTYPE/);
      // One corrupt session does not break the listing for everyone.
      const agents = await fetch(`${run.url}/v1/agents`);
      assert.equal(agents.status, 200);
      assert.equal(((await agents.json()) as { agents: Array<{ active_sessions: number }> }).agents[0]?.active_sessions !== undefined, true);
      assert.equal((await fetch(`${run.url}/v1/agents/bot/sessions/${good}`)).status, 200);
    } finally {
      try {
        if (bad !== '') await redis.del([`agentspec:session:{${bad}}`]);
        await redis.close();
      } finally {
        await run.stop();
      }
      await rm(dir, { recursive: true, force: true });
    }
  });
});
