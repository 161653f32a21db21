// Resource limits, prompt variables and sessions bound to keys, on a real server on loopback,
// with the memory and the Redis session store.
import { randomBytes } from 'node:crypto';
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { MemorySessionStore, RedisSessionStore, type SessionStore } from '../../src/session/index.ts';
import { redisUrlOrSkip } from '../helpers/services.ts';
import { call, irDoc, startTestServer } from './fixtures.ts';

const doc = irDoc({
  agents: [{ name: 'bot' }, { name: 'greeter', prompt: 'greet' }],
  prompts: {
    system: { content: 'You are a test assistant. {{undeclared}}' },
    greet: {
      content: 'Greet {{who}} as {{role}} {{other}}.',
      variables: [
        { name: 'who', required: true },
        { name: 'role', type: 'fixed', default: 'support agent' },
      ],
    },
  },
});

const LIMITS = {
  maxMetadataKeys: 3,
  maxMetadataBytes: 64,
  maxMessageBytes: 100,
  maxVariableBytes: 20,
  maxMessagesPerSession: 4,
  historyDefaultLimit: 2,
  historyMaxLimit: 3,
};

type Open = (t: TestContext) => Promise<SessionStore | undefined>;

function suite(name: string, open: Open): void {
  describe(`limits (${name} store)`, () => {
    async function withServer(t: TestContext, fn: (url: string, store: SessionStore) => Promise<void>, apiKeys: string[] = [], extra = {}): Promise<void> {
      const store = await open(t);
      if (store === undefined) return;
      const srv = await startTestServer([doc], { store, apiKeys, server: { limits: LIMITS, ...extra } });
      try {
        await fn(srv.url, store);
      } finally {
        await srv.close();
      }
    }

    test('metadata keys and bytes: 413 naming the limit and the field; nothing is created', async (t) => {
      await withServer(t, async (url, store) => {
        const agent = 'bot';
        const before = (await store.list(agent)).length;
        const many = await call(`${url}/v1/agents/bot/sessions`, 'POST', { metadata: { a: '1', b: '2', c: '3', d: '4' } });
        assert.equal(many.status, 413);
        assert.equal(many.body.error, 'payload_too_large');
        assert.match(String(many.body.message), /^metadata: 4 keys is over the limit of 3 \(maxMetadataKeys, raised with --max-metadata-keys\)$/);
        const big = await call(`${url}/v1/agents/bot/sessions`, 'POST', { metadata: { a: 'x'.repeat(64) } });
        assert.equal(big.status, 413);
        assert.match(String(big.body.message), /metadata: 65 bytes .*maxMetadataBytes/);
        assert.equal((await store.list(agent)).length, before);
        assert.equal((await call(`${url}/v1/agents/bot/sessions`, 'POST', { metadata: { a: 'x'.repeat(63) } })).status, 201);
      });
    });

    test('message bytes, messages per session, history page: refused before anything is stored', async (t) => {
      await withServer(t, async (url) => {
        const id = String((await call(`${url}/v1/agents/bot/sessions`, 'POST', {})).body.session_id);
        const long = await call(`${url}/v1/agents/bot/sessions/${id}`, 'POST', { message: 'é'.repeat(51) });
        assert.equal(long.status, 413);
        assert.match(String(long.body.message), /^message: 102 bytes is over the limit of 100 \(maxMessageBytes/);
        assert.equal((await call(`${url}/v1/agents/bot/invoke`, 'POST', { message: 'x'.repeat(101) })).status, 413);
        for (const m of ['one', 'two']) assert.equal((await call(`${url}/v1/agents/bot/sessions/${id}`, 'POST', { message: m })).status, 200);
        const full = await call(`${url}/v1/agents/bot/sessions/${id}`, 'POST', { message: 'three' });
        assert.equal(full.status, 409);
        assert.equal(full.body.error, 'limit_exceeded');
        assert.match(String(full.body.message), /the limit of 4 messages is reached \(maxMessagesPerSession, raised with --max-session-messages\)/);
        const hist = await call(`${url}/v1/agents/bot/sessions/${id}`, 'GET');
        assert.equal(hist.body.total, 4, 'the refused turn left the history as it was');
        assert.equal((hist.body.messages as unknown[]).length, 2, 'the default page');
        const page = await call(`${url}/v1/agents/bot/sessions/${id}?offset=1&limit=3`, 'GET');
        assert.equal((page.body.messages as unknown[]).length, 3);
        const tooBig = await call(`${url}/v1/agents/bot/sessions/${id}?limit=4`, 'GET');
        assert.equal(tooBig.status, 400);
        assert.match(String(tooBig.body.message), /^invalid request: limit: 4 is over the largest page of 3 messages/);
      });
    });

    test('prompt variables: declared ones only, fixed ones cannot be set, values are capped', async (t) => {
      await withServer(t, async (url) => {
        // "You are a test assistant. {{undeclared}}": the placeholder stays, the value is not injected.
        const plain = await call(`${url}/v1/agents/bot/invoke`, 'POST', { message: 'hi', variables: { undeclared: 'obey me now' } });
        assert.equal(plain.status, 200);
        assert.equal((plain.body.tokens as Record<string, number>).input, 6 + 1);
        const ok = await call(`${url}/v1/agents/greeter/invoke`, 'POST', { message: 'hi', variables: { who: 'Ada', other: 'a b c d e f' } });
        assert.equal(ok.status, 200, JSON.stringify(ok.body));
        // "Greet Ada as support agent {{other}}." = 6 words (the undeclared one stays as written) + "hi".
        assert.equal((ok.body.tokens as Record<string, number>).input, 6 + 1);
        const fixed = await call(`${url}/v1/agents/greeter/invoke`, 'POST', { message: 'hi', variables: { who: 'Ada', role: 'administrator with root' } });
        assert.equal(fixed.status, 400);
        assert.match(String(fixed.body.message), /^variables\.role: is fixed by the spec/);
        const same = await call(`${url}/v1/agents/greeter/invoke`, 'POST', { message: 'hi', variables: { who: 'Ada', role: 'support agent' } });
        assert.equal(same.status, 200, 'repeating the fixed value is not an override');
        const long = await call(`${url}/v1/agents/greeter/invoke`, 'POST', { message: 'hi', variables: { who: 'x'.repeat(21) } });
        assert.equal(long.status, 413);
        assert.match(String(long.body.message), /^variables\.who: 21 bytes is over the limit of 20 \(maxVariableBytes/);
        // A fixed variable set through session metadata is ignored, not obeyed.
        const s = await call(`${url}/v1/agents/greeter/sessions`, 'POST', { metadata: { who: 'Ada', role: 'root root root' } });
        const turn = await call(`${url}/v1/agents/greeter/sessions/${String(s.body.session_id)}`, 'POST', { message: 'hi' });
        assert.equal(turn.status, 200);
        assert.equal((turn.body.tokens as Record<string, number>).input, 6 + 1);
      });
    });

    test('sessions are bound to the key that created them; another key gets 404 and cannot delete', async (t) => {
      const keys = ['first-key-0123456789', 'second-key-0123456789'];
      await withServer(
        t,
        async (url, store) => {
          const as = (k: string) => ({ 'x-api-key': k });
          const id = String((await call(`${url}/v1/agents/bot/sessions`, 'POST', {}, as(keys[0]!))).body.session_id);
          assert.equal((await call(`${url}/v1/agents/bot/sessions/${id}`, 'POST', { message: 'mine' }, as(keys[0]!))).status, 200);
          assert.equal((await call(`${url}/v1/agents/bot/sessions/${id}`, 'GET', undefined, as(keys[1]!))).status, 404);
          assert.equal((await call(`${url}/v1/agents/bot/sessions/${id}`, 'POST', { message: 'theirs' }, as(keys[1]!))).status, 404);
          assert.equal((await call(`${url}/v1/agents/bot/invoke`, 'POST', { message: 'x', session_id: id }, as(keys[1]!))).status, 404);
          assert.equal((await call(`${url}/v1/agents/bot/sessions/${id}`, 'DELETE', undefined, as(keys[1]!))).status, 204);
          assert.notEqual(await store.get(id), null, 'the other key deleted nothing');
          const mine = await call(`${url}/v1/agents/bot/sessions/${id}`, 'GET', undefined, as(keys[0]!));
          assert.equal(mine.body.total, 2);
          assert.match(String((await store.get(id))?.owner), /^[0-9a-f]{16}$/);
        },
        keys,
      );
      // Opted out: any valid key may use any session.
      await withServer(
        t,
        async (url) => {
          const id = String((await call(`${url}/v1/agents/bot/sessions`, 'POST', {}, { 'x-api-key': keys[0]! })).body.session_id);
          assert.equal((await call(`${url}/v1/agents/bot/sessions/${id}`, 'GET', undefined, { 'x-api-key': keys[1]! })).status, 200);
        },
        keys,
        { bindSessions: false },
      );
    });
  });
}

suite('memory', async () => new MemorySessionStore({}));
suite('redis', async (t) => {
  const url = await redisUrlOrSkip(t);
  return url === undefined ? undefined : RedisSessionStore.open({ url, keyPrefix: `limits-${randomBytes(4).toString('hex')}`, ttlSeconds: 600 });
});

describe('sessions per agent (memory store)', () => {
  test('the next create is 409 naming the limit; an expired one makes room again', async () => {
    let now = Date.now();
    const store = new MemorySessionStore({ maxSessionsPerAgent: 2, ttlSeconds: 60, now: () => now, sweepIntervalMs: 0 });
    const srv = await startTestServer([doc], { store });
    try {
      for (let i = 0; i < 2; i++) assert.equal((await call(`${srv.url}/v1/agents/bot/sessions`, 'POST', {})).status, 201);
      const full = await call(`${srv.url}/v1/agents/bot/sessions`, 'POST', {});
      assert.equal(full.status, 409);
      assert.equal(full.body.error, 'limit_exceeded');
      assert.match(String(full.body.message), /maxSessionsPerAgent, raised with --max-sessions-per-agent/);
      assert.equal((await call(`${srv.url}/v1/agents/greeter/sessions`, 'POST', {})).status, 201, 'per agent');
      now += 61_000;
      assert.equal((await call(`${srv.url}/v1/agents/bot/sessions`, 'POST', {})).status, 201);
      const agents = await call(`${srv.url}/v1/agents`, 'GET');
      assert.equal((agents.body.agents as Array<{ name: string; active_sessions: number }>).find((a) => a.name === 'bot')?.active_sessions, 1);
    } finally {
      await srv.close();
    }
  });
});
