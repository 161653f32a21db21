// Delegation and fallback through a real `agentspec run` child serving an IR snapshot (so that the
// cycles `validate` refuses can still be served and the runtime's own guards are what is tested).
// The echo model calls a delegate with `/tool delegate_to_NAME {"task": ...}`.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { anthropicMessage, startFakeLlm, type FakeLlm } from './fake-llm.ts';
import { call, irDoc, type AgentSpec } from './fixtures.ts';
import { startRunChild, type RunChild } from './run-child.ts';

const delegating = (name: string, to: string[], extra: AgentSpec['attrs'] = {}, prompt = 'system', model = 'echo'): AgentSpec => ({
  name,
  prompt,
  model,
  attrs: { delegates: to.map((agent) => ({ agent, condition: agent === 'helper' ? 'the task is about numbers' : '' })), ...extra },
});
const failing = (name: string, fallback: string): AgentSpec => ({ name, model: 'claude-fail', attrs: { on_error: 'fallback', fallback } });

const doc = irDoc({
  pkg: 'team',
  agents: [
    delegating('boss', ['helper'], {}, 'boss'),
    { name: 'helper', prompt: 'helper' },
    delegating('thrifty', ['helper'], { token_budget: 30 }, 'boss'),
    delegating('lead', ['helper', 'number cruncher'], {}, 'lead', 'claude-lead'),
    { name: 'number cruncher' },
    delegating('relay1', ['relay2']),
    delegating('relay2', ['relay3']),
    delegating('relay3', ['relay4']),
    { name: 'relay4' },
    delegating('ping', ['pong']),
    delegating('pong', ['ping']),
    failing('primary', 'secondary'),
    failing('secondary', 'tertiary'),
    { name: 'tertiary' },
    failing('p', 'q'),
    failing('q', 'p'),
    failing('f1', 'f2'),
    failing('f2', 'f3'),
    failing('f3', 'f4'),
    { name: 'f4' },
  ],
  prompts: { system: { content: 'Assist.' }, boss: { content: 'Boss.' }, helper: { content: 'Helper.' }, lead: { content: 'LEAD the team.' } },
});

/** `/tool` messages that make each echo agent in `targets` delegate to the next, `hi` at the end. */
function relay(targets: string[]): string {
  const [first, ...rest] = targets;
  return first === undefined ? 'hi' : `/tool delegate_to_${first} ${JSON.stringify({ task: relay(rest) })}`;
}

describe('delegation and fallback through a real agentspec run', () => {
  let dir: string;
  let fake: FakeLlm;
  let run: RunChild;
  const invoke = (agent: string, message: string): ReturnType<typeof call> => call(`${run.url}/v1/agents/${encodeURIComponent(agent)}/invoke`, 'POST', { message });

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'agentspec-delegation-'));
    await writeFile(path.join(dir, 'team.json'), JSON.stringify(doc));
    fake = await startFakeLlm();
    fake.replies.push((req) =>
      String(req.body.system).startsWith('LEAD')
        ? anthropicMessage([{ type: 'text', text: 'done' }])
        : { raw: '{"type":"error","error":{"type":"invalid_request_error","message":"scripted failure"}}', status: 400 },
    );
    run = await startRunChild(['--ir', path.join(dir, 'team.json'), '--max-delegation-depth', '2', '--max-fallbacks', '2'], {
      ANTHROPIC_API_KEY: 'sk-test',
      ANTHROPIC_BASE_URL: fake.url,
    });
  });
  after(async () => {
    await run.stop();
    await fake.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('delegates are offered as tools: a safe name, the when as description, one task parameter', async () => {
    const res = await invoke('lead', 'plan the week');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const sent = fake.requests.find((r) => String(r.body.system).startsWith('LEAD'));
    assert.deepEqual(sent?.body.tools, [
      {
        name: 'delegate_to_helper',
        description: 'Hand a task to agent "helper" when the task is about numbers. Returns its answer.',
        input_schema: {
          type: 'object',
          properties: { task: { type: 'string', description: 'The message for agent "helper": everything it needs, it sees nothing else of this conversation.' } },
          required: ['task'],
          additionalProperties: false,
        },
      },
      {
        name: 'delegate_to_number_cruncher',
        description: 'Hand a task to agent "number cruncher" and get its answer.',
        input_schema: {
          type: 'object',
          properties: { task: { type: 'string', description: 'The message for agent "number cruncher": everything it needs, it sees nothing else of this conversation.' } },
          required: ['task'],
          additionalProperties: false,
        },
      },
    ]);
  });

  test("a delegate call runs the other agent; its answer is the tool result and its tokens are the caller's", async () => {
    const alone = await invoke('helper', 'count to 3');
    assert.deepEqual(alone.body.tokens, { input: 4, output: 6, cache_read: 0, total: 10 });
    const res = await invoke('boss', '/tool delegate_to_helper {"task": "count to 3"}');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.output, 'echo: count to 3 (messages: 1)');
    assert.equal(res.body.agent, 'boss');
    const calls = res.body.tool_calls as Array<Record<string, unknown>>;
    assert.equal(calls.length, 1);
    assert.equal(calls[0]?.tool_name, 'delegate_to_helper');
    assert.equal(calls[0]?.output, 'echo: count to 3 (messages: 1)');
    // boss: 7 in + 1 out (the call), 7 in + 6 out (the answer); helper: the 10 above.
    assert.deepEqual(res.body.tokens, { input: 7 + 4 + 7, output: 1 + 6 + 6, cache_read: 0, total: 21 + 10 });
    const line = run.logs().find((l) => l.msg === 'agent delegated' && l.agent === 'boss');
    assert.equal(line?.delegate, 'helper');
    assert.equal(line?.tokens, 10);
  });

  test("the delegate's tokens count toward the caller's token_budget", async () => {
    const res = await invoke('thrifty', '/tool delegate_to_helper {"task": "a b c d e f g h"}');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    // 13 of its own for the call, then 20 of the helper's: over 30, so no second model call.
    assert.equal(res.body.stop_reason, 'token_budget');
    assert.equal(res.body.turns, 1);
    assert.equal((res.body.tokens as { total: number }).total, 33);
  });

  test('delegations go as deep as --max-delegation-depth and no deeper', async () => {
    const two = await invoke('relay1', relay(['relay2', 'relay3']));
    assert.equal(two.body.output, 'echo: hi (messages: 1)');
    const three = await invoke('relay1', relay(['relay2', 'relay3', 'relay4']));
    assert.equal(three.status, 200);
    assert.equal(three.body.output, 'tool error: delegation depth limit of 2 reached (relay1 -> relay2 -> relay3); raise it with --max-delegation-depth');
  });

  test('a delegation back to an agent on the way is refused', async () => {
    const res = await invoke('ping', relay(['pong', 'ping']));
    assert.equal(res.status, 200);
    assert.equal(res.body.output, 'tool error: delegation cycle refused: ping -> pong -> ping');
  });

  test('bad delegate arguments are a tool error the model sees', async () => {
    const res = await invoke('boss', '/tool delegate_to_helper {"job": "x"}');
    assert.equal(res.body.output, 'tool error: invalid arguments for "delegate_to_helper": task: must be a non-empty string');
  });

  test('a fallback chain reports who answered and every failure on the way', async () => {
    const res = await invoke('primary', 'hello');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.agent, 'tertiary');
    assert.equal(res.body.output, 'echo: hello (messages: 1)');
    assert.deepEqual(res.body.fallbacks, [
      { agent: 'primary', code: 'E_PROVIDER' },
      { agent: 'secondary', code: 'E_PROVIDER' },
    ]);
    const plain = await invoke('tertiary', 'hello');
    assert.equal(plain.body.fallbacks, undefined, 'no fallbacks field when none happened');
  });

  test('a fallback cycle ends after each agent was tried once', async () => {
    const before = fake.requests.length;
    const res = await invoke('p', 'hello');
    assert.equal(res.status, 502);
    assert.equal(res.body.error, 'upstream_error');
    assert.equal(fake.requests.length - before, 2, 'p and q each asked once');
    assert.ok(run.logs().some((l) => l.msg === 'fallback chain ended: agent already tried or the limit reached' && l.agent === 'q'));
  });

  test('a fallback chain stops at --max-fallbacks', async () => {
    const before = fake.requests.length;
    const res = await invoke('f1', 'hello');
    assert.equal(res.status, 502, JSON.stringify(res.body));
    assert.equal(fake.requests.length - before, 3, 'f1, f2 and f3 asked; f4 never');
  });
});
