import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createClient } from 'redis';
import { newSessionId } from '../../src/session/index.ts';
import { privateRedisOrSkip } from '../helpers/services.ts';
import { writeOriginalSession } from '../session/original-layout-fixture.ts';
import { call, irDoc } from './fixtures.ts';
import { startRunChild } from './run-child.ts';

const HISTORY = [
  { role: 'user', content: 'my name is Ada' },
  { role: 'assistant', content: 'Hello Ada.' },
  { role: 'user', content: 'remember it' },
  { role: 'assistant', content: 'I will.' },
];

function messagesSeen(output: unknown): number {
  const m = /\(messages: (\d+)\)/.exec(String(output));
  assert.ok(m !== null, `an echo answer: ${String(output)}`);
  return Number(m[1]);
}

test('agentspec run serves sessions written in the original layout (list and string history) and moves them into ours', { timeout: 90_000 }, async (t) => {
  const redis = await privateRedisOrSkip(t);
  if (redis === undefined) return;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'agentspec-original-'));
  const raw = createClient({ url: redis.url });
  await raw.connect();
  const irFile = path.join(dir, 'ir.json');
  await writeFile(irFile, JSON.stringify(irDoc({ pkg: 'orig', agents: [{ name: 'bot', model: 'echo' }] })));
  const run = await startRunChild(['--ir', irFile, '--session-store', 'redis', '--redis-url', redis.url]);
  try {
    // The private server keeps nothing on disk (appendonly no): the runtime says so at start-up.
    const warn = run.logs().find((l) => l.level === 40 && /acknowledged session messages can be lost on a Redis restart/.test(String(l.msg)));
    assert.ok(warn !== undefined, run.stderr());
    assert.equal(warn.appendonly, false);

    // How many messages the model sees for a turn on an empty session of ours.
    const fresh = await call(`${run.url}/v1/agents/bot/sessions`, 'POST', {});
    const first = await call(`${run.url}/v1/agents/bot/sessions/${String(fresh.body.session_id)}`, 'POST', { message: 'hi' });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    const base = messagesSeen(first.body.output);

    for (const form of ['list', 'string'] as const) {
      const id = newSessionId();
      await writeOriginalSession(raw, 'agentspec', id, { agent: 'bot', form, messages: HISTORY });
      const history = await call(`${run.url}/v1/agents/bot/sessions/${id}`, 'GET');
      assert.equal(history.status, 200, `${form}: ${JSON.stringify(history.body)}`);
      assert.equal(history.body.total, 4);
      assert.deepEqual(history.body.messages, HISTORY.map((m, i) => ({ ...m, seq: i + 1 })));

      const turn = await call(`${run.url}/v1/agents/bot/sessions/${id}`, 'POST', { message: 'what is my name?' });
      assert.equal(turn.status, 200, JSON.stringify(turn.body));
      assert.equal(messagesSeen(turn.body.output), base + HISTORY.length, `${form}: the turn saw the whole original history`);
      const after = await call(`${run.url}/v1/agents/bot/sessions/${id}`, 'GET');
      assert.equal(after.body.total, 6);
      assert.equal((after.body.messages as Array<{ content?: string }>)[4]?.content, 'what is my name?');

      assert.equal(await raw.sendCommand(['EXISTS', `agentspec:session:${id}`, `agentspec:session:${id}:messages`]), 0, `${form}: the original keys are retired`);
      assert.equal(await raw.sendCommand(['TYPE', `agentspec:session:{${id}}`]), 'hash');
    }
  } finally {
    await run.stop();
    await raw.close();
    await redis.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
