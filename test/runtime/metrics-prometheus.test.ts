import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { freePort } from '../helpers/services.ts';
import { openaiCompletion, startFakeLlm } from './fake-llm.ts';
import { call, irDoc } from './fixtures.ts';
import { startRunChild } from './run-child.ts';

const KEY = 'metrics-test-key';

async function onPath(cmd: string): Promise<boolean> {
  const child = spawn('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
  const [code] = (await once(child, 'exit')) as [number | null];
  return code === 0;
}

/** Run `promtool check metrics` on `text`; resolves with its exit code and output. */
async function promtoolCheck(text: string): Promise<{ code: number | null; output: string }> {
  const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
  const exited = once(child, 'exit') as Promise<[number | null]>;
  child.stdin.end(text);
  const [code] = await exited;
  return { code, output };
}

async function readStream(url: string, body: unknown): Promise<string> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': KEY }, body: JSON.stringify(body) });
  assert.equal(res.status, 200);
  return res.text();
}

/** The value of a one-series instant query, or undefined while Prometheus has none. */
async function queryValue(promUrl: string, query: string): Promise<number | undefined> {
  const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(query)}`);
  if (res.status !== 200) return undefined;
  const body = (await res.json()) as { data?: { result?: Array<{ value: [number, string] }> } };
  const result = body.data?.result ?? [];
  if (result.length !== 1) return undefined;
  return Number(result[0]!.value[1]);
}

test('a real Prometheus scrapes /metrics with the API key and sees the traffic by route, agent and provider', { timeout: 120_000 }, async (t) => {
  for (const tool of ['prometheus', 'promtool']) {
    if (!(await onPath(tool))) {
      const why = `${tool} is not installed (apt-get install prometheus)`;
      if (process.env.CI === 'true') throw new Error(`${why} (CI=true: a missing tool is a failure)`);
      t.skip(why);
      return;
    }
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'agentspec-metrics-'));
  const fake = await startFakeLlm();
  fake.replies.push(openaiCompletion({ content: 'from the provider' }, { prompt_tokens: 10, completion_tokens: 5 }));
  const irFile = path.join(dir, 'ir.json');
  await writeFile(irFile, JSON.stringify(irDoc({ pkg: 'metrics-pkg', agents: [{ name: 'bot', model: 'echo' }, { name: 'helper', model: 'gpt-test' }] })));
  const run = await startRunChild(['--ir', irFile, '--api-key', KEY], { OPENAI_API_KEY: 'k', OPENAI_BASE_URL: fake.url });
  t.after(async () => {
    await run.stop();
    await fake.close();
    await rm(dir, { recursive: true, force: true });
  });
  const auth = { 'x-api-key': KEY };

  // Traffic. Without a key /metrics is refused like any /v1 route.
  assert.equal((await call(`${run.url}/metrics`, 'GET')).status, 401);
  const created = await call(`${run.url}/v1/agents/bot/sessions`, 'POST', {}, auth);
  assert.equal(created.status, 201);
  const sid = String(created.body.session_id);
  const answers = [
    await call(`${run.url}/v1/agents/bot/sessions/${sid}`, 'POST', { message: 'one' }, auth),
    await call(`${run.url}/v1/agents/bot/invoke`, 'POST', { message: 'two', session_id: sid }, auth),
  ];
  for (const a of answers) assert.equal(a.status, 200, JSON.stringify(a.body));
  const streamed = await readStream(`${run.url}/v1/agents/bot/stream`, { message: 'three words here' });
  const done = /event: done\ndata: (.*)\n/.exec(streamed);
  assert.ok(done !== null, streamed);
  const botTokens = [...answers.map((a) => a.body.tokens), (JSON.parse(done[1]!) as { tokens: unknown }).tokens] as Array<{ input: number; output: number }>;
  const helper = await call(`${run.url}/v1/agents/helper/invoke`, 'POST', { message: 'x' }, auth);
  assert.equal(helper.status, 200, JSON.stringify(helper.body));
  assert.equal((await call(`${run.url}/v1/agents/nope/invoke`, 'POST', { message: 'x' }, auth)).status, 404);
  assert.equal((await call(`${run.url}/no/such/${sid}`, 'GET', undefined, auth)).status, 404);

  // Our own scrape: valid exposition text, and route patterns rather than raw paths as labels.
  const scraped = await fetch(`${run.url}/metrics`, { headers: auth });
  assert.equal(scraped.status, 200);
  assert.match(scraped.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const text = await scraped.text();
  assert.ok(!text.includes(sid), 'no session id in any label');
  assert.match(text, /agentspec_http_requests_total\{method="POST",route="\/v1\/agents\/:name\/sessions\/:id",status="200"\} 1/);
  const lint = await promtoolCheck(text);
  assert.equal(lint.code, 0, `promtool check metrics:\n${lint.output}`);

  // A real Prometheus, scraping every second with the key as a bearer token.
  const promPort = await freePort();
  const config = path.join(dir, 'prometheus.yml');
  await writeFile(
    config,
    [
      'global:',
      '  scrape_interval: 1s',
      'scrape_configs:',
      '  - job_name: agentspec',
      '    scrape_interval: 1s',
      '    authorization:',
      '      type: Bearer',
      `      credentials: ${KEY}`,
      '    static_configs:',
      `      - targets: ['${new URL(run.url).host}']`,
      '',
    ].join('\n'),
  );
  let promLog = '';
  const prometheus = spawn(
    'prometheus',
    [`--config.file=${config}`, `--storage.tsdb.path=${path.join(dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${promPort}`, '--log.level=warn'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const promExited = once(prometheus, 'exit');
  t.after(async () => {
    if (prometheus.exitCode !== null || prometheus.signalCode !== null) return;
    prometheus.kill('SIGKILL');
    await promExited;
  });
  prometheus.stdout.setEncoding('utf8').on('data', (d: string) => (promLog += d));
  prometheus.stderr.setEncoding('utf8').on('data', (d: string) => (promLog += d));
  const promUrl = `http://127.0.0.1:${promPort}`;

  const sum = (k: 'input' | 'output'): number => botTokens.reduce((n, tk) => n + tk[k], 0);
  const expected: Record<string, number> = {
    'up{job="agentspec"}': 1,
    'agentspec_http_requests_total{route="/v1/agents/:name/sessions",method="POST",status="201"}': 1,
    'agentspec_http_requests_total{route="/v1/agents/:name/sessions/:id",method="POST",status="200"}': 1,
    'agentspec_http_requests_total{route="/v1/agents/:name/invoke",status="200"}': 2,
    'agentspec_http_requests_total{route="/v1/agents/:name/invoke",status="404"}': 1,
    'agentspec_http_requests_total{route="/v1/agents/:name/stream",status="200"}': 1,
    'agentspec_http_requests_total{route="unmatched",status="404"}': 1,
    'agentspec_http_requests_total{route="/metrics",status="401"}': 1,
    'agentspec_model_call_duration_seconds_count{agent="bot",provider="echo",outcome="ok"}': 3,
    'agentspec_model_call_duration_seconds_count{agent="helper",provider="openai",outcome="ok"}': 1,
    'agentspec_model_tokens_total{agent="helper",provider="openai",kind="input"}': 10,
    'agentspec_model_tokens_total{agent="helper",provider="openai",kind="output"}': 5,
    'agentspec_model_tokens_total{agent="bot",provider="echo",kind="input"}': sum('input'),
    'agentspec_model_tokens_total{agent="bot",provider="echo",kind="output"}': sum('output'),
    agentspec_session_appends_total: 2,
    agentspec_session_messages_appended_total: 4,
    'agentspec_active_sessions{agent="bot"}': 1,
    'agentspec_active_sessions{agent="helper"}': 0,
  };
  const deadline = Date.now() + 60_000;
  let wrong: string[] = [];
  for (;;) {
    wrong = [];
    for (const [query, value] of Object.entries(expected)) {
      let got: number | undefined;
      try {
        got = await queryValue(promUrl, query);
      } catch (err) {
        // Prometheus is still starting (connection refused): ask again.
        got = undefined;
        if (Date.now() > deadline) throw err;
      }
      if (got !== value) wrong.push(`${query}: expected ${value}, got ${String(got)}`);
    }
    if (wrong.length === 0 || Date.now() > deadline || prometheus.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  assert.deepEqual(wrong, [], `Prometheus log:\n${promLog}`);

  // One info line per request, with the agent and session it concerned; scrapes stay out of it.
  const lines = run.logs().filter((l) => l.msg === 'request');
  const invoke = lines.find((l) => l.route === '/v1/agents/:name/invoke' && l.status === 200 && l.agent === 'bot');
  assert.ok(invoke !== undefined, JSON.stringify(lines));
  assert.equal(invoke.level, 30);
  assert.equal(invoke.method, 'POST');
  assert.equal(invoke.path, '/v1/agents/bot/invoke');
  assert.equal(invoke.session_id, sid);
  assert.equal(typeof invoke.duration_ms, 'number');
  const byPath = lines.find((l) => l.route === '/v1/agents/:name/sessions/:id');
  assert.equal(byPath?.session_id, sid);
  assert.ok(!lines.some((l) => l.route === '/metrics' && l.status === 200), 'scrapes are not logged at info');
});
