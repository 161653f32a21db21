import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from 'redis';
import { SUMMARY_INSTRUCTIONS } from '../../src/runtime/memory-window.ts';
import { redisUrlOrSkip } from '../helpers/services.ts';
import { anthropicMessage, startFakeLlm, type FakeLlm, type RecordedRequest } from './fake-llm.ts';
import { startRunChild, type RunChild } from './run-child.ts';

const PROMPT = 'You are a test bot.';

function spec(memory: string): string {
  return `package "mem" version "0.1.0" lang "2.0"

prompt "system" {
  content "${PROMPT}"
}

agent "claude" {
  uses prompt "system"
  model "claude-test"
  ${memory}
}

agent "echo" {
  uses prompt "system"
  model "echo"
  ${memory}
}
`;
}

async function post(base: string, p: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(new URL(p, base), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = (await res.json()) as Record<string, unknown>;
  assert.equal(res.status, res.status === 201 ? 201 : 200, JSON.stringify(json));
  return json;
}

async function session(run: RunChild, agent: string): Promise<string> {
  return String((await post(run.url, `/v1/agents/${agent}/sessions`, {})).session_id);
}

const say = (run: RunChild, agent: string, id: string, message: string): Promise<Record<string, unknown>> =>
  post(run.url, `/v1/agents/${agent}/sessions/${id}`, { message });

type WireMessage = { role: string; content: Array<{ type: string; text?: string }> };
const texts = (req: RecordedRequest): string[] => (req.body.messages as WireMessage[]).map((m) => `${m.role}:${m.content.map((b) => b.text ?? b.type).join('')}`);
const isSummaryCall = (req: RecordedRequest): boolean => req.body.system === SUMMARY_INSTRUCTIONS;

describe('memory windows against a real agentspec run', () => {
  let dir: string;
  let fake: FakeLlm;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'agentspec-memory-'));
    fake = await startFakeLlm();
  });
  after(async () => {
    await fake.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('sliding_window 10: a session of 50 messages sends the system prompt, the last 10 and the new message', async () => {
    const file = path.join(dir, 'window.ias');
    await writeFile(file, spec('memory {\n    strategy "sliding_window"\n    max_messages 10\n  }'));
    fake.requests.length = 0;
    fake.replies.splice(0, fake.replies.length, (req) => anthropicMessage([{ type: 'text', text: `a${fake.requests.indexOf(req)}` }]));
    const run = await startRunChild([file], { ANTHROPIC_API_KEY: 'k', ANTHROPIC_BASE_URL: fake.url }, dir);
    try {
      const id = await session(run, 'claude');
      for (let i = 0; i < 25; i++) await say(run, 'claude', id, `q${i}`);
      await say(run, 'claude', id, 'q25');
      const last = fake.requests.at(-1)!;
      assert.equal(last.body.system, PROMPT);
      const expected: string[] = [];
      for (let i = 20; i < 25; i++) expected.push(`user:q${i}`, `assistant:a${i}`);
      assert.deepEqual(texts(last), [...expected, 'user:q25']);
      // The stored history is whole.
      const hist = (await (await fetch(new URL(`/v1/agents/claude/sessions/${id}?limit=1000`, run.url))).json()) as { total: number };
      assert.equal(hist.total, 52);
      // echo counts the whole conversation, also what the window leaves out.
      const eid = await session(run, 'echo');
      for (let i = 0; i < 7; i++) await say(run, 'echo', eid, `e${i}`);
      const answer = await say(run, 'echo', eid, 'last');
      assert.equal(answer.output, 'echo: last (messages: 15)');
    } finally {
      await run.stop();
    }
  });

  test('summary: older messages are folded by the agent\'s model into a summary stored with the turn and sent with the next', async (t) => {
    const redisUrl = await redisUrlOrSkip(t);
    if (redisUrl === undefined) return;
    const file = path.join(dir, 'summary.ias');
    await writeFile(file, spec('memory {\n    strategy "summary"\n    max_messages 2\n  }'));
    fake.requests.length = 0;
    let summaries = 0;
    fake.replies.splice(0, fake.replies.length, (req) =>
      anthropicMessage([{ type: 'text', text: isSummaryCall(req) ? `S${++summaries}` : 'ok' }]),
    );
    const run = await startRunChild([file, '--session-store', 'redis', '--redis-url', redisUrl], { ANTHROPIC_API_KEY: 'k', ANTHROPIC_BASE_URL: fake.url }, dir);
    const redis = createClient({ url: redisUrl });
    await redis.connect();
    try {
      const id = await session(run, 'claude');
      // Turns 1 and 2: the window (2 messages) holds all there was before them: no summary call.
      await say(run, 'claude', id, 'q0');
      await say(run, 'claude', id, 'q1');
      assert.equal(fake.requests.filter(isSummaryCall).length, 0);
      assert.equal(await redis.hGet(`agentspec:session:{${id}}`, 'summary'), null);
      // Turn 3: q0 and its answer leave the window and are folded first.
      const third = await say(run, 'claude', id, 'q2');
      const fold = fake.requests.at(-2)!;
      assert.ok(isSummaryCall(fold));
      assert.match(texts(fold)[0]!, /New messages:\nuser: q0\nassistant: ok$/);
      const chat = fake.requests.at(-1)!;
      assert.equal(chat.body.system, `${PROMPT}\n\nSummary of the earlier conversation:\nS1`);
      assert.deepEqual(texts(chat), ['user:q1', 'assistant:ok', 'user:q2']);
      assert.deepEqual(JSON.parse(String(await redis.hGet(`agentspec:session:{${id}}`, 'summary'))), { text: 'S1', covers: 2 });
      // The summary call's tokens count toward the turn's (10 + 5 for each of the two calls).
      assert.deepEqual(third.tokens, { input: 20, output: 10, cache_read: 0, total: 30 });
      // Turn 4: the running summary is updated from the previous one and what left the window since.
      await say(run, 'claude', id, 'q3');
      const refold = fake.requests.at(-2)!;
      assert.ok(isSummaryCall(refold));
      assert.equal(texts(refold)[0], 'user:Summary so far: S1\n\nNew messages:\nuser: q1\nassistant: ok');
      assert.equal(fake.requests.at(-1)!.body.system, `${PROMPT}\n\nSummary of the earlier conversation:\nS2`);
      assert.deepEqual(JSON.parse(String(await redis.hGet(`agentspec:session:{${id}}`, 'summary'))), { text: 'S2', covers: 4 });
      const hist = (await (await fetch(new URL(`/v1/agents/claude/sessions/${id}`, run.url))).json()) as { total: number };
      assert.equal(hist.total, 8);
    } finally {
      await redis.close();
      await run.stop();
    }
  });

  test('summary with echo is deterministic: two sessions with the same messages get the same summary', async (t) => {
    const redisUrl = await redisUrlOrSkip(t);
    if (redisUrl === undefined) return;
    const file = path.join(dir, 'echo-summary.ias');
    await writeFile(file, spec('memory {\n    strategy "summary"\n    max_messages 2\n  }'));
    const run = await startRunChild([file, '--session-store', 'redis', '--redis-url', redisUrl], {}, dir);
    const redis = createClient({ url: redisUrl });
    await redis.connect();
    try {
      const stored: string[] = [];
      for (let s = 0; s < 2; s++) {
        const id = await session(run, 'echo');
        for (const m of ['alpha', 'beta', 'gamma', 'delta']) await say(run, 'echo', id, m);
        stored.push(String(await redis.hGet(`agentspec:session:{${id}}`, 'summary')));
      }
      assert.equal(stored[0], stored[1]);
      assert.deepEqual(JSON.parse(stored[0]!), {
        text: 'summary: Summary so far: summary: New messages: user: alpha assistant: echo: alpha (messages: 1) New messages: user: beta assistant: echo: beta (messages: 3)',
        covers: 4,
      });
    } finally {
      await redis.close();
      await run.stop();
    }
  });
});
