import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openaiCompletion, startFakeLlm, type FakeReply, type RecordedRequest } from './fake-llm.ts';
import { call, irDoc, startTestServer } from './fixtures.ts';
import { postSse } from './sse-client.ts';

const lastUser = (req: RecordedRequest): string =>
  ((req.body.messages ?? []) as Array<{ role: string; content: string }>).filter((m) => m.role === 'user').at(-1)?.content ?? '';

/** A server whose `remote` agent's model answers at once, except messages starting with "hold", held until released. */
async function serverWithHeldModel(agentAttrs: Record<string, string> = {}) {
  const fake = await startFakeLlm();
  const held = new Map<string, () => void>();
  fake.replies.push((req): FakeReply | Promise<FakeReply> => {
    const text = lastUser(req);
    const reply = openaiCompletion({ content: `model: ${text}` });
    return text.startsWith('hold') ? new Promise((resolve) => held.set(text, () => resolve(reply))) : reply;
  });
  const srv = await startTestServer([irDoc({ agents: [{ name: 'remote', model: 'gpt-test', attrs: agentAttrs }, { name: 'chat', model: 'echo' }] })], {
    env: { OPENAI_API_KEY: 'k', OPENAI_BASE_URL: fake.url },
  });
  const calledWith = async (message: string): Promise<void> => {
    while (!fake.requests.some((r) => lastUser(r) === message)) await new Promise((r) => setTimeout(r, 5));
  };
  return {
    srv,
    fake,
    held,
    calledWith,
    close: async () => {
      for (const release of held.values()) release();
      await srv.close();
      await fake.close();
    },
  };
}

test('interrupt: the running turn is cancelled unsaved (409 turn_superseded) and the new one runs', async () => {
  const h = await serverWithHeldModel();
  try {
    const id = String((await call(`${h.srv.url}/v1/agents/remote/sessions`, 'POST', {})).body.session_id);
    // Under another agent's path the session is not there, and nothing is interrupted.
    const undisturbed = call(`${h.srv.url}/v1/agents/remote/sessions/${id}`, 'POST', { message: 'hold zero' });
    await h.calledWith('hold zero');
    const foreign = await call(`${h.srv.url}/v1/agents/chat/sessions/${id}`, 'POST', { message: 'intruder', on_busy: 'interrupt' });
    assert.equal(foreign.status, 404);
    h.held.get('hold zero')!();
    assert.equal((await undisturbed).status, 200);
    const first = call(`${h.srv.url}/v1/agents/remote/sessions/${id}`, 'POST', { message: 'hold first' });
    await h.calledWith('hold first');
    const second = await call(`${h.srv.url}/v1/agents/remote/sessions/${id}`, 'POST', { message: 'second', on_busy: 'interrupt' });
    assert.equal(second.status, 200, JSON.stringify(second.body));
    const cancelled = await first;
    assert.equal(cancelled.status, 409);
    assert.equal(cancelled.body.error, 'turn_superseded');
    const hist = await call(`${h.srv.url}/v1/agents/remote/sessions/${id}`, 'GET');
    assert.deepEqual((hist.body.messages as Array<{ content: string }>).map((m) => m.content), ['hold zero', 'model: hold zero', 'second', 'model: second']);
  } finally {
    await h.close();
  }
});

test("on_busy: the agent's attribute applies, and a request's on_busy overrides it; reject sends Retry-After", async () => {
  const h = await serverWithHeldModel({ on_busy: 'reject' });
  try {
    const id = String((await call(`${h.srv.url}/v1/agents/remote/sessions`, 'POST', {})).body.session_id);
    const first = call(`${h.srv.url}/v1/agents/remote/sessions/${id}`, 'POST', { message: 'hold one' });
    await h.calledWith('hold one');
    const busy = await call(`${h.srv.url}/v1/agents/remote/sessions/${id}`, 'POST', { message: 'two' });
    assert.equal(busy.status, 409);
    assert.equal(busy.body.error, 'session_busy');
    assert.ok(Number(busy.headers.get('retry-after')) >= 1);
    const queued = call(`${h.srv.url}/v1/agents/remote/sessions/${id}`, 'POST', { message: 'three', on_busy: 'enqueue' });
    h.held.get('hold one')!();
    assert.equal((await first).status, 200);
    const third = await queued;
    assert.equal(third.status, 200);
    assert.equal(third.body.first_seq, 3);
    const bad = await call(`${h.srv.url}/v1/agents/remote/sessions/${id}`, 'POST', { message: 'x', on_busy: 'sometimes' });
    assert.equal(bad.status, 400);
    assert.match(String(bad.body.message), /^invalid request: on_busy:/);
  } finally {
    await h.close();
  }
});

test('idempotency on the stream route: a retry replays the stored answer as one text event and the same done', async () => {
  const h = await serverWithHeldModel();
  try {
    const id = String((await call(`${h.srv.url}/v1/agents/chat/sessions`, 'POST', {})).body.session_id);
    const body = { message: 'streamed once', session_id: id, include_output: true };
    const first = await postSse(`${h.srv.url}/v1/agents/chat/stream`, body, { 'idempotency-key': 'stream-1' });
    const retry = await postSse(`${h.srv.url}/v1/agents/chat/stream`, body, { 'idempotency-key': 'stream-1' });
    const done = (r: typeof first) => r.events.find((e) => e.event === 'done')!.data;
    const text = (r: typeof first) => r.events.filter((e) => e.event === 'text').map((e) => String(e.data.text)).join('');
    assert.deepEqual(done(retry), done(first));
    assert.equal(text(retry), text(first));
    assert.equal(text(first), 'echo: streamed once (messages: 1)');
    const hist = await call(`${h.srv.url}/v1/agents/chat/sessions/${id}`, 'GET');
    assert.equal(hist.body.total, 2);
    const badKey = await call(`${h.srv.url}/v1/agents/chat/invoke`, 'POST', { message: 'x', session_id: id }, { 'idempotency-key': 'has space' });
    assert.equal(badKey.status, 400);
    assert.match(String(badKey.body.message), /^invalid request: Idempotency-Key:/);
    const mismatch = await call(`${h.srv.url}/v1/agents/chat/invoke`, 'POST', { message: 'x', session_id: id, client_message_id: 'a' }, { 'idempotency-key': 'b' });
    assert.equal(mismatch.status, 400);
    assert.match(String(mismatch.body.message), /^invalid request: client_message_id:/);
  } finally {
    await h.close();
  }
});

test('idempotency without a session: concurrent copies of a keyed invoke call the model once and get one answer', async () => {
  const h = await serverWithHeldModel();
  try {
    const send = (message: string): ReturnType<typeof call> => call(`${h.srv.url}/v1/agents/remote/invoke`, 'POST', { message }, { 'idempotency-key': 'stateless-1' });
    const first = send('hold stateless');
    await h.calledWith('hold stateless');
    const retries = Array.from({ length: 5 }, () => send('hold stateless'));
    h.held.get('hold stateless')!();
    const all = await Promise.all([first, ...retries]);
    for (const r of all) assert.deepEqual([r.status, r.body], [200, all[0]!.body]);
    assert.equal(h.fake.requests.filter((r) => lastUser(r) === 'hold stateless').length, 1);
    const conflict = await send('another message');
    assert.equal(conflict.status, 409);
    assert.equal(conflict.body.error, 'idempotency_conflict');
  } finally {
    await h.close();
  }
});
