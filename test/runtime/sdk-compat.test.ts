// What the original agentspec SDKs (TypeScript, Python, Go) send, byte for byte where it matters,
// against a real `agentspec run` on loopback, with the memory and the Redis session store.
import http from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { redisUrlOrSkip } from '../helpers/services.ts';
import { irDoc } from './fixtures.ts';
import { rawRequest, startRunChild, type RunChild } from './run-child.ts';
import { listenOnLoopback } from '../helpers/loopback-server.ts';

const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json', 'user-agent': 'agentspec-sdk' };
/** bufio.Scanner's default token limit (Go SDK); the Python SDK's line reader has the same order. */
const MAX_LINE = 64 * 1024;

const doc = irDoc({
  pkg: 'sdk',
  agents: [{ name: 'bot' }, { name: 'greeter', prompt: 'greet' }, { name: 'big', model: 'gpt-big', prompt: 'system' }],
  prompts: {
    system: { content: 'You are a test assistant.' },
    greet: { content: 'Greet {{who}} warmly.', variables: [{ name: 'who', required: true }] },
  },
});

/** An OpenAI-compatible upstream that streams a 200 KB answer in 1 KB deltas. */
async function bigStreamUpstream(answer: string): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (let i = 0; i < answer.length; i += 1024) {
        res.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: answer.slice(i, i + 1024) } }] })}\n\n`);
      }
      res.write(`data: ${JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`);
      res.write(`data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 3, completion_tokens: 200 } })}\n\ndata: [DONE]\n\n`);
      res.end();
    });
  });
  const listening = await listenOnLoopback(server);
  return listening;
}

/** Read an SSE response line by line as a Scanner would: any line over MAX_LINE fails the read. */
function readSseLines(base: string, p: string, body: string): Promise<{ status: number; events: Array<{ event: string; data: Record<string, unknown> }>; longest: number }> {
  const u = new URL(p, base);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { ...JSON_HEADERS, accept: 'text/event-stream', 'content-length': String(Buffer.byteLength(body)) } },
      (res) => {
        let buf = '';
        let longest = 0;
        let event = 'message';
        const events: Array<{ event: string; data: Record<string, unknown> }> = [];
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          buf += d;
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + 1);
            longest = Math.max(longest, Buffer.byteLength(line));
            if (Buffer.byteLength(line) > MAX_LINE) {
              req.destroy(new Error(`line of ${Buffer.byteLength(line)} bytes: bufio.Scanner: token too long`));
              return;
            }
            if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) {
              events.push({ event, data: JSON.parse(line.slice(6)) as Record<string, unknown> });
              event = 'message';
            }
          }
          if (Buffer.byteLength(buf) > MAX_LINE) req.destroy(new Error('bufio.Scanner: token too long'));
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, events, longest }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function sdkSuite(name: string, storeArgs: (t: import('node:test').TestContext) => Promise<string[] | undefined>): void {
  describe(`original SDK requests (${name} store)`, () => {
    let dir: string;
    let run: RunChild | undefined;
    let upstream: Awaited<ReturnType<typeof bigStreamUpstream>>;
    const answer = Array.from({ length: 200 * 1024 }, (_, i) => String.fromCharCode(97 + (i % 26))).join('');

    before(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'agentspec-sdk-'));
      await writeFile(path.join(dir, 'ir.json'), JSON.stringify(doc));
      upstream = await bigStreamUpstream(answer);
    });
    after(async () => {
      await run?.stop();
      await upstream.close();
      await rm(dir, { recursive: true, force: true });
    });

    async function server(t: import('node:test').TestContext): Promise<RunChild | undefined> {
      if (run !== undefined) return run;
      const args = await storeArgs(t);
      if (args === undefined) return undefined;
      run = await startRunChild(['--ir', path.join(dir, 'ir.json'), ...args], { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: upstream.url });
      return run;
    }

    test('create_session() without metadata: Content-Type application/json and an empty body is a 201', async (t) => {
      const r = await server(t);
      if (r === undefined) return;
      const created = await rawRequest(r.url, 'POST', '/v1/agents/bot/sessions', JSON_HEADERS, '');
      assert.equal(created.status, 201, created.text);
      assert.match(String(created.json().session_id), /^sess_[A-Za-z0-9_-]{22}$/);
      // And with no body bytes at all (chunked, zero length) as well.
      const chunked = await rawRequest(r.url, 'POST', '/v1/agents/bot/sessions', { ...JSON_HEADERS, 'transfer-encoding': 'chunked' });
      assert.equal(chunked.status, 201, chunked.text);
    });

    test('deleteSession: DELETE with Content-Type application/json and no body deletes it; again is 204', async (t) => {
      const r = await server(t);
      if (r === undefined) return;
      const id = String((await rawRequest(r.url, 'POST', '/v1/agents/bot/sessions', JSON_HEADERS, '{"metadata":{"user":"u1"}}')).json().session_id);
      assert.equal((await rawRequest(r.url, 'POST', `/v1/agents/bot/sessions/${id}`, JSON_HEADERS, '{"message":"hi"}')).status, 200);
      const del = await rawRequest(r.url, 'DELETE', `/v1/agents/bot/sessions/${id}`, JSON_HEADERS, '');
      assert.equal(del.status, 204, del.text);
      assert.equal(del.text, '');
      const history = await rawRequest(r.url, 'GET', `/v1/agents/bot/sessions/${id}`, { accept: 'application/json' });
      assert.equal(history.status, 404, 'the session is really gone');
      const again = await rawRequest(r.url, 'DELETE', `/v1/agents/bot/sessions/${id}`, JSON_HEADERS, '');
      assert.equal(again.status, 204, 'deleting what is gone succeeds, as the original did');
      const never = await rawRequest(r.url, 'DELETE', '/v1/agents/bot/sessions/sess_AAAAAAAAAAAAAAAAAAAAAA', JSON_HEADERS, '');
      assert.equal(never.status, 204);
    });

    test('sendMessage without variables: the session metadata fills the prompt variables', async (t) => {
      const r = await server(t);
      if (r === undefined) return;
      const bare = await rawRequest(r.url, 'POST', '/v1/agents/greeter/sessions', JSON_HEADERS, '');
      const missing = await rawRequest(r.url, 'POST', `/v1/agents/greeter/sessions/${String(bare.json().session_id)}`, JSON_HEADERS, '{"message":"hi"}');
      assert.equal(missing.status, 400, 'no value anywhere: the required variable is reported');
      assert.match(String(missing.json().message), /variables\.who/);

      const created = await rawRequest(r.url, 'POST', '/v1/agents/greeter/sessions', JSON_HEADERS, '{"metadata":{"who":"Ada Lovelace of London"}}');
      const id = String(created.json().session_id);
      const sent = await rawRequest(r.url, 'POST', `/v1/agents/greeter/sessions/${id}`, JSON_HEADERS, '{"message":"hi"}');
      assert.equal(sent.status, 200, sent.text);
      // echo counts system prompt words as input tokens: "Greet Ada Lovelace of London warmly." (6) + "hi" (1).
      assert.equal((sent.json().tokens as Record<string, number>).input, 7);
      // A request's own value wins over the metadata.
      const own = await rawRequest(r.url, 'POST', `/v1/agents/greeter/sessions/${id}`, JSON_HEADERS, '{"message":"hi","variables":{"who":"Bob"}}');
      // "Greet Bob warmly." (3) + the history "hi", "echo: hi (messages: 1)" (5) + "hi" (1).
    assert.equal((own.json().tokens as Record<string, number>).input, 3 + 5 + 1);
    });

    test('a 200 KB streamed answer: every line fits a 64 KiB line reader, done stays small', async (t) => {
      const r = await server(t);
      if (r === undefined) return;
      const res = await readSseLines(r.url, '/v1/agents/big/stream', '{"message":"write a lot"}');
      assert.equal(res.status, 200);
      assert.ok(res.longest <= MAX_LINE, `longest line ${res.longest}`);
      const text = res.events.filter((e) => e.event === 'text').map((e) => String(e.data.text)).join('');
      assert.equal(text.length, answer.length);
      assert.equal(text, answer);
      const done = res.events.at(-1);
      assert.equal(done?.event, 'done');
      assert.equal(done?.data.output, undefined);
      assert.equal(done?.data.stop_reason, 'end_turn');
      assert.deepEqual(done?.data.tokens, { input: 3, output: 200, cache_read: 0, total: 203 });
      assert.ok(JSON.stringify(done?.data).length < 1024);
      // A client that wants the output in done asks for it.
      const full = await readSseLines(r.url, '/v1/agents/bot/stream', '{"message":"short","include_output":true}');
      assert.equal(full.events.at(-1)?.data.output, 'echo: short (messages: 1)');
    });
  });
}

sdkSuite('memory', async () => ['--session-store', 'memory']);
sdkSuite('redis', async (t) => {
  const url = await redisUrlOrSkip(t);
  return url === undefined ? undefined : ['--session-store', 'redis', '--redis-url', url];
});
