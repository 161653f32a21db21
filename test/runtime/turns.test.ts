import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startRedisServer, type RedisServer } from '../helpers/services.ts';
import { openaiCompletion, startFakeLlm, type FakeLlm, type FakeReply, type RecordedRequest } from './fake-llm.ts';
import { call, irDoc, type JsonResponse } from './fixtures.ts';
import { startRunChild, type RunChild } from './run-child.ts';

// Real `agentspec run` children (the compiled dist) sharing one private Redis: one turn at a time
// per session across processes, fencing of a frozen runtime, and idempotent retries.

const doc = irDoc({
  pkg: 'turns',
  agents: [
    { name: 'chat', model: 'echo' },
    { name: 'remote', model: 'gpt-test' },
  ],
});

/** The last user message of a request the fake model received. */
function lastUser(req: RecordedRequest): string {
  const messages = (req.body.messages ?? []) as Array<{ role: string; content: string }>;
  return messages.filter((m) => m.role === 'user').at(-1)?.content ?? '';
}

let redis: RedisServer | undefined;
let fake: FakeLlm;
let dir: string;
const children: RunChild[] = [];
/** Messages whose model call the fake holds until the test releases it. */
const held = new Map<string, () => void>();

async function runtime(extraEnv: Record<string, string> = {}): Promise<RunChild> {
  const child = await startRunChild(
    ['--ir', path.join(dir, 'ir.json'), '--session-store', 'redis', '--redis-url', redis!.url, '--rate-limit', '0', '--session-busy-wait', '120s'],
    { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: fake.url, ...extraEnv },
  );
  children.push(child);
  return child;
}

/** Waits until the fake model has received a request for `message`. */
async function modelCalledWith(message: string): Promise<void> {
  while (!fake.requests.some((r) => lastUser(r) === message)) await new Promise((r) => setTimeout(r, 10));
}

const modelCalls = (message: string): number => fake.requests.filter((r) => lastUser(r) === message).length;

async function newSession(base: string, agent: string): Promise<string> {
  const created = await call(`${base}/v1/agents/${agent}/sessions`, 'POST', {});
  assert.equal(created.status, 201);
  return String(created.body.session_id);
}

async function history(base: string, agent: string, id: string): Promise<Array<{ role: string; content: string; seq: number }>> {
  const h = await call(`${base}/v1/agents/${agent}/sessions/${id}?limit=1000`, 'GET');
  assert.equal(h.status, 200);
  return h.body.messages as Array<{ role: string; content: string; seq: number }>;
}

const seen = (output: unknown): number => Number(/\(messages: (\d+)\)$/.exec(String(output))?.[1]);

describe('turns across runtimes sharing one Redis', { timeout: 300_000 }, () => {
  let a: RunChild;
  let b: RunChild;

  before(async () => {
    // A private server: these runtimes freeze and die mid-turn. Without redis-server the tests
    // skip, except under CI=true where that is a failure.
    redis = await startRedisServer().catch((err: unknown) => {
      if (process.env.CI === 'true') throw err;
      return undefined;
    });
    if (redis === undefined) return;
    dir = await mkdtemp(path.join(os.tmpdir(), 'agentspec-turns-'));
    await writeFile(path.join(dir, 'ir.json'), JSON.stringify(doc));
    fake = await startFakeLlm();
    fake.replies.push((req): FakeReply | Promise<FakeReply> => {
      const text = lastUser(req);
      const reply = openaiCompletion({ content: `model: ${text}` });
      // Only the first call for a message is held: a retry of it is answered at once.
      if (!text.startsWith('hold') || modelCalls(text) > 1) return reply;
      return new Promise((resolve) => held.set(text, () => resolve(reply)));
    });
    [a, b] = await Promise.all([runtime(), runtime()]);
  });

  after(async () => {
    for (const release of held.values()) release();
    await Promise.all(children.map((c) => c.stop()));
    await fake?.close();
    await redis?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  test('enqueue: 100 concurrent messages through two runtimes run one at a time, in one coherent history', async (t) => {
    if (redis === undefined) return t.skip('no redis-server');
    const id = await newSession(a.url, 'chat');
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) => call(`${[a, b][i % 2]!.url}/v1/agents/chat/sessions/${id}`, 'POST', { message: `msg-${i}` })),
    );
    for (const r of results) assert.equal(r.status, 200, JSON.stringify(r.body));
    // Every turn saw every earlier turn: the answers' counts are 1, 3, 5, ... with no gap or repeat.
    assert.deepEqual(results.map((r) => seen(r.body.output)).sort((x, y) => x - y), Array.from({ length: 100 }, (_, k) => 2 * k + 1));
    const messages = await history(b.url, 'chat', id);
    assert.equal(messages.length, 200);
    assert.deepEqual(messages.map((m) => m.seq), Array.from({ length: 200 }, (_, k) => k + 1));
    for (let p = 0; p < 100; p++) {
      const [q, ans] = [messages[2 * p]!, messages[2 * p + 1]!];
      assert.equal(q.role, 'user');
      assert.equal(ans.content, `echo: ${q.content} (messages: ${2 * p + 1})`, `pair ${p}`);
    }
    results.forEach((r, i) => {
      const at = messages.findIndex((m) => m.content === `msg-${i}`);
      assert.deepEqual([r.body.first_seq, r.body.last_seq], [at + 1, at + 2]);
      assert.equal(r.body.output, messages[at + 1]!.content);
    });
  });

  test('reject: 100 concurrent messages: each answered or 409 session_busy, and the history holds exactly the answered ones', async (t) => {
    if (redis === undefined) return t.skip('no redis-server');
    const id = await newSession(b.url, 'chat');
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) => call(`${[a, b][i % 2]!.url}/v1/agents/chat/sessions/${id}`, 'POST', { message: `rej-${i}`, on_busy: 'reject' })),
    );
    const answered = results.flatMap((r, i) => (r.status === 200 ? [i] : []));
    for (const r of results.filter((x) => x.status !== 200)) {
      assert.equal(r.status, 409, JSON.stringify(r.body));
      assert.equal(r.body.error, 'session_busy');
      assert.ok(Number(r.headers.get('retry-after')) >= 1);
    }
    assert.ok(answered.length >= 1);
    assert.deepEqual(answered.map((i) => seen(results[i]!.body.output)).sort((x, y) => x - y), answered.map((_, k) => 2 * k + 1));
    const messages = await history(a.url, 'chat', id);
    assert.equal(messages.length, 2 * answered.length);
    assert.deepEqual(new Set(messages.filter((m) => m.role === 'user').map((m) => m.content)), new Set(answered.map((i) => `rej-${i}`)));
    for (let p = 0; p < answered.length; p++) assert.equal(messages[2 * p + 1]!.content, `echo: ${messages[2 * p]!.content} (messages: ${2 * p + 1})`);
  });

  test('a runtime frozen mid-turn until its lease expires cannot store its late answer; the next turn stands', async (t) => {
    if (redis === undefined) return t.skip('no redis-server');
    const frozen = await runtime({ AGENTSPEC_SESSION_LEASE_TTL: '1s' });
    const id = await newSession(b.url, 'remote');
    const late = call(`${frozen.url}/v1/agents/remote/sessions/${id}`, 'POST', { message: 'hold frozen' });
    await modelCalledWith('hold frozen');
    frozen.child.kill('SIGSTOP');
    let next: JsonResponse;
    try {
      // Waits (enqueue) until the frozen turn's lease runs out, then takes the session.
      next = await call(`${b.url}/v1/agents/remote/sessions/${id}`, 'POST', { message: 'next' });
      // The model answers the frozen turn while its runtime is still stopped.
      held.get('hold frozen')!();
    } finally {
      frozen.child.kill('SIGCONT');
    }
    assert.equal(next.status, 200, JSON.stringify(next.body));
    const refused = await late;
    assert.equal(refused.status, 409, JSON.stringify(refused.body));
    assert.equal(refused.body.error, 'turn_superseded');
    const messages = await history(b.url, 'remote', id);
    assert.deepEqual(messages.map((m) => [m.seq, m.role, m.content]), [
      [1, 'user', 'next'],
      [2, 'assistant', 'model: next'],
    ]);
    // The frozen runtime found out through its lease (renewal refused) or its fence (append refused).
    assert.ok(frozen.logs().some((l) => l.msg === 'turn lease lost: the turn is cancelled and will not be stored' || l.msg === 'turn append refused: a later turn holds the session'));
    const after = await call(`${frozen.url}/v1/agents/remote/sessions/${id}`, 'POST', { message: 'after' });
    assert.equal(after.status, 200);
    assert.equal((await history(a.url, 'remote', id)).length, 4);
  });

  test('idempotency: 20 concurrent copies of one keyed message: one model call, one stored turn, 20 identical answers', async (t) => {
    if (redis === undefined) return t.skip('no redis-server');
    const id = await newSession(a.url, 'remote');
    const send = (base: string, body: Record<string, unknown>): Promise<JsonResponse> =>
      call(`${base}/v1/agents/remote/sessions/${id}`, 'POST', body, { 'idempotency-key': 'key-20' });
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => send([a, b][i % 2]!.url, { message: 'twenty' })));
    for (const r of results) assert.equal(r.status, 200, JSON.stringify(r.body));
    for (const r of results.slice(1)) assert.deepEqual(r.body, results[0]!.body);
    assert.equal(results.filter((r) => r.headers.get('idempotent-replayed') === 'true').length, 19);
    assert.equal(modelCalls('twenty'), 1);
    assert.deepEqual((await history(b.url, 'remote', id)).map((m) => m.content), ['twenty', 'model: twenty']);
    assert.deepEqual([results[0]!.body.first_seq, results[0]!.body.last_seq], [1, 2]);

    const other = await send(b.url, { message: 'something else' });
    assert.equal(other.status, 409);
    assert.equal(other.body.error, 'idempotency_conflict');
    // client_message_id is the same key as the header.
    const viaBody = await call(`${a.url}/v1/agents/remote/sessions/${id}`, 'POST', { message: 'twenty', client_message_id: 'key-20' });
    assert.deepEqual(viaBody.body, results[0]!.body);
    assert.equal((await history(a.url, 'remote', id)).length, 2);
  });

  test('idempotency: a retry after the server was SIGKILLed mid-turn runs once and is stored once', async (t) => {
    if (redis === undefined) return t.skip('no redis-server');
    const doomed = await runtime({ AGENTSPEC_SESSION_LEASE_TTL: '1s' });
    const id = await newSession(a.url, 'remote');
    const body = { message: 'hold kill' };
    const headers = { 'idempotency-key': 'key-kill' };
    const cut = call(`${doomed.url}/v1/agents/remote/sessions/${id}`, 'POST', body, headers).then(
      () => 'answered',
      () => 'connection lost',
    );
    await modelCalledWith('hold kill');
    doomed.child.kill('SIGKILL');
    assert.equal(await cut, 'connection lost');
    held.get('hold kill')!();
    const retry = await call(`${b.url}/v1/agents/remote/sessions/${id}`, 'POST', body, headers);
    assert.equal(retry.status, 200, JSON.stringify(retry.body));
    const again = await call(`${a.url}/v1/agents/remote/sessions/${id}`, 'POST', body, headers);
    assert.deepEqual(again.body, retry.body);
    assert.equal(modelCalls('hold kill'), 2, 'the killed call and the retry; the second retry is replayed');
    assert.deepEqual((await history(a.url, 'remote', id)).map((m) => m.content), ['hold kill', 'model: hold kill']);
  });
});
