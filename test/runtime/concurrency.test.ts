import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSessionStore, type SessionStore } from '../../src/session/index.ts';
import { redisUrlOrSkip } from '../helpers/services.ts';
import { call, irDoc, startTestServer } from './fixtures.ts';

// 100 is the spec's count; it is cheap enough to run in full everywhere.
const MESSAGES = Number(process.env.AGENTSPEC_SESSION_CONCURRENCY ?? 100);

const doc = irDoc({ agents: [{ name: 'chat', model: 'echo' }] });

/**
 * Send MESSAGES messages to one session at once through the HTTP server, then check the history:
 * every message exactly once, each immediately followed by its own answer, numbered in order, and
 * each answer saw exactly the history before it (the turns ran one at a time).
 */
async function concurrentMessages(store: SessionStore): Promise<void> {
  const srv = await startTestServer([doc], { store });
  try {
    const created = await call(`${srv.url}/v1/agents/chat/sessions`, 'POST', {});
    assert.equal(created.status, 201);
    const id = String(created.body.session_id);
    const results = await Promise.all(
      Array.from({ length: MESSAGES }, (_, i) => call(`${srv.url}/v1/agents/chat/sessions/${id}`, 'POST', { message: `msg-${i}` })),
    );
    for (const r of results) assert.equal(r.status, 200, JSON.stringify(r.body));

    const hist = await call(`${srv.url}/v1/agents/chat/sessions/${id}?limit=1000`, 'GET');
    assert.equal(hist.status, 200);
    assert.equal(hist.body.total, MESSAGES * 2);
    const messages = hist.body.messages as Array<{ role: string; content: string; seq: number }>;
    assert.equal(messages.length, MESSAGES * 2);
    const seen = new Set<string>();
    for (let p = 0; p < MESSAGES; p++) {
      const user = messages[2 * p]!;
      const answer = messages[2 * p + 1]!;
      assert.equal(user.role, 'user');
      assert.equal(answer.role, 'assistant');
      assert.ok(!seen.has(user.content), `${user.content} stored twice`);
      seen.add(user.content);
      const m = /^echo: (msg-\d+) \(messages: (\d+)\)$/.exec(answer.content);
      assert.ok(m, answer.content);
      assert.equal(m[1], user.content, `pair ${p}: answer belongs to another question`);
      // One turn at a time: it saw every earlier pair, and nothing else.
      assert.equal(Number(m[2]), 2 * p + 1, `pair ${p} saw ${m[2]} messages`);
      assert.deepEqual([user.seq, answer.seq], [2 * p + 1, 2 * p + 2]);
    }
    assert.equal(seen.size, MESSAGES);
    // Each client got the answer that was stored for its own question.
    const stored = new Map(Array.from({ length: MESSAGES }, (_, p) => [messages[2 * p]!.content, messages[2 * p + 1]!.content]));
    results.forEach((r, i) => assert.equal(r.body.output, stored.get(`msg-${i}`)));
  } finally {
    await srv.close();
  }
}

describe(`${MESSAGES} concurrent messages to one session`, () => {
  test('memory store', async () => {
    await concurrentMessages(await createSessionStore({ kind: 'memory' }));
  });

  test('redis store', async (t) => {
    const url = await redisUrlOrSkip(t);
    if (url === undefined) return;
    const keyPrefix = `agentspec-test-${randomBytes(6).toString('hex')}`;
    await concurrentMessages(await createSessionStore({ kind: 'redis', url, keyPrefix }));
  });
});
