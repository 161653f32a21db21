// Pipelines served by a real `agentspec run` child: the echo model for the steps that answer, a fake
// Anthropic API for the steps that must hang (held until cancelled) or fail.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../helpers/cli.ts';
import { startFakeLlm, type FakeLlm, type RecordedRequest } from './fake-llm.ts';
import { rawRequest, startRunChild, type RunChild } from './run-child.ts';
import { postSse } from './sse-client.ts';

const KEY = 'pipeline-test-key-0123456789';
const AUTH = { authorization: `Bearer ${KEY}` };

const SPEC = `package "flows" version "0.1.0" lang "2.0"

prompt "plain" {
  content "You help."
}

prompt "hold" {
  content "HOLD until cancelled."
}

prompt "fail" {
  content "FAIL at once."
}

agent "writer" {
  uses prompt "plain"
  model "echo"
}

agent "held" {
  uses prompt "hold"
  model "claude-held"
  on_error "fail"
}

agent "broken" {
  uses prompt "fail"
  model "claude-broken"
  on_error "fail"
}

pipeline "chain" {
  step "draft" {
    agent "writer"
  }
  step "edit" {
    agent "writer"
    depends_on ["draft"]
  }
  step "sign" {
    agent "writer"
    depends_on ["edit"]
    input "fixed text"
  }
}

pipeline "fanout" {
  step "slow" {
    agent "held"
    parallel true
  }
  step "boom" {
    agent "broken"
    parallel true
  }
  step "after" {
    agent "writer"
    depends_on ["slow", "boom"]
  }
}

pipeline "triage" {
  step "urgent" {
    agent "writer"
    when "trigger.priority == 'high' and not (trigger.note matches 'ignore')"
  }
  step "followup" {
    agent "writer"
    depends_on ["urgent"]
  }
}

pipeline "counted" {
  step "big" {
    agent "writer"
    when "trigger.count > 3"
  }
}

pipeline "waiting" {
  step "only" {
    agent "held"
  }
}
`;

const isHeld = (r: RecordedRequest): boolean => String(r.body.system).startsWith('HOLD');

/** Poll `check` on each turn of the event loop (bounded by count, not by time). */
async function eventually(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.fail(`never happened: ${what}`);
}

describe('pipelines through a real agentspec run', () => {
  let dir: string;
  let fake: FakeLlm;
  let run: RunChild;
  const post = (p: string, body: unknown): ReturnType<typeof rawRequest> =>
    rawRequest(run.url, 'POST', p, { 'content-type': 'application/json', ...AUTH }, JSON.stringify(body));

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'agentspec-pipelines-'));
    await writeFile(path.join(dir, 'flows.ias'), SPEC);
    fake = await startFakeLlm();
    // The held step's call never gets an answer; the failing step's call fails only once the held
    // one is in flight, so the cancellation always hits a running step.
    fake.replies.push(async (req) => {
      if (isHeld(req)) return { hang: true };
      await eventually(() => fake.requests.some(isHeld), 'the held step reached the model');
      return { raw: '{"type":"error","error":{"type":"invalid_request_error","message":"scripted failure"}}', status: 400 };
    });
    run = await startRunChild([path.join(dir, 'flows.ias')], { AGENTSPEC_API_KEYS: KEY, ANTHROPIC_API_KEY: 'sk-test', ANTHROPIC_BASE_URL: fake.url });
  });
  after(async () => {
    await run.stop();
    await fake.close();
    await rm(dir, { recursive: true, force: true });
  });

  test("what the original SDKs send for runPipeline gets the original's shape", async () => {
    const res = await rawRequest(
      run.url,
      'POST',
      '/v1/pipelines/chain/run',
      { 'content-type': 'application/json', accept: 'application/json', 'user-agent': 'agentspec-sdk', ...AUTH },
      JSON.stringify({ trigger: { topic: 'tides' } }),
    );
    assert.equal(res.status, 200, res.text);
    const body = res.json();
    assert.deepEqual(Object.keys(body).sort(), ['pipeline', 'status', 'steps', 'tokens', 'total_duration_ms']);
    assert.equal(body.pipeline, 'chain');
    assert.equal(body.status, 'completed');
    const steps = body.steps as Record<string, Record<string, unknown>>;
    assert.deepEqual(Object.keys(steps), ['draft', 'edit', 'sign']);
    // draft gets the trigger as JSON, edit draft's output, sign its own input text.
    assert.equal(steps.draft?.output, 'echo: {"topic":"tides"} (messages: 1)');
    assert.equal(steps.edit?.output, 'echo: echo: {"topic":"tides"} (messages: 1) (messages: 1)');
    assert.equal(steps.sign?.output, 'echo: fixed text (messages: 1)');
    let total = 0;
    for (const s of Object.values(steps)) {
      assert.equal(s.status, 'completed');
      assert.equal(s.agent, 'writer');
      assert.equal(typeof s.duration_ms, 'number');
      assert.equal(s.error, undefined);
      const t = s.tokens as { input: number; output: number; total: number };
      assert.equal(t.total, t.input + t.output);
      total += t.total;
    }
    assert.equal((body.tokens as { total: number }).total, total);
    assert.equal(typeof body.total_duration_ms, 'number');
  });

  test('the first failed step fails the pipeline and cancels the running one; the rest is kept', { timeout: 60_000 }, async () => {
    const abandonedBefore = fake.abandoned();
    const res = await post('/v1/pipelines/fanout/run', { trigger: {} });
    assert.equal(res.status, 200, res.text);
    const body = res.json();
    assert.equal(body.status, 'failed');
    const steps = body.steps as Record<string, Record<string, unknown>>;
    assert.equal(steps.boom?.status, 'failed');
    assert.equal(steps.boom?.error_code, 'upstream_error');
    assert.match(String(steps.boom?.error), /model provider "anthropic" failed \(HTTP 400\)/);
    assert.equal(steps.slow?.status, 'cancelled');
    assert.match(String(steps.slow?.error), /cancelled: step "boom" failed/);
    assert.equal(steps.after?.status, 'cancelled');
    assert.match(String(steps.after?.error), /not started/);
    // The held model call was really cut, not left running.
    await eventually(() => fake.abandoned() > abandonedBefore, 'the held model call was aborted');
  });

  test('when: a false condition skips the step, a dependent of a skipped step still runs', async () => {
    const low = (await post('/v1/pipelines/triage/run', { trigger: { priority: 'low' } })).json();
    assert.equal(low.status, 'completed');
    const lowSteps = low.steps as Record<string, Record<string, unknown>>;
    assert.equal(lowSteps.urgent?.status, 'skipped');
    assert.equal(lowSteps.urgent?.output, '');
    assert.equal(lowSteps.followup?.status, 'completed');
    assert.equal(lowSteps.followup?.output, 'echo: {"priority":"low"} (messages: 1)');

    const high = (await post('/v1/pipelines/triage/run', { trigger: { priority: 'high', note: 'now' } })).json();
    const highSteps = high.steps as Record<string, Record<string, unknown>>;
    assert.equal(highSteps.urgent?.status, 'completed');
    assert.equal(highSteps.followup?.output, `echo: ${String(highSteps.urgent?.output)} (messages: 1)`);

    const ignored = (await post('/v1/pipelines/triage/run', { trigger: { priority: 'high', note: 'please ignore' } })).json();
    assert.equal((ignored.steps as Record<string, Record<string, unknown>>).urgent?.status, 'skipped');
  });

  test('a when that cannot be evaluated fails its step with a clear error', async () => {
    const res = (await post('/v1/pipelines/counted/run', { trigger: { count: 'many' } })).json();
    assert.equal(res.status, 'failed');
    const big = (res.steps as Record<string, Record<string, unknown>>).big;
    assert.equal(big?.status, 'failed');
    assert.equal(big?.error_code, 'invalid_condition');
    assert.equal(big?.error, 'when: condition "trigger.count > 3": ">" compares two numbers or two strings, got string and number (column 15)');
    const ok = (await post('/v1/pipelines/counted/run', { trigger: { count: 5 } })).json();
    assert.equal(ok.status, 'completed');
  });

  test('unknown pipeline, bad body, no key', async () => {
    const missing = await post('/v1/pipelines/nope/run', { trigger: {} });
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.json(), { error: 'not_found', message: 'pipeline "nope" not found' });
    const bad = await post('/v1/pipelines/chain/run', { trigger: 'text' });
    assert.equal(bad.status, 400);
    assert.equal(bad.json().error, 'invalid_request');
    assert.match(String(bad.json().message), /^invalid request: trigger: /);
    const big = await post('/v1/pipelines/chain/run', { trigger: { text: 'x'.repeat(70_000) } });
    assert.equal(big.status, 413);
    assert.match(String(big.json().message), /^trigger: \d+ bytes is over the limit of 65536 \(maxMessageBytes/);
    const anonymous = await rawRequest(run.url, 'POST', '/v1/pipelines/chain/run', { 'content-type': 'application/json' }, '{"trigger":{}}');
    assert.equal(anonymous.status, 401);
  });

  test('GET /v1/pipelines lists what is served', async () => {
    const res = await rawRequest(run.url, 'GET', '/v1/pipelines', AUTH);
    assert.equal(res.status, 200);
    const list = res.json().pipelines as Array<Record<string, unknown>>;
    assert.deepEqual(list.map((p) => p.name), ['chain', 'counted', 'fanout', 'triage', 'waiting']);
    assert.deepEqual((list[0]?.steps as unknown[])[1], { name: 'edit', agent: 'writer', depends_on: ['draft'] });
  });

  test('stream: step start and end events, text deltas tagged with their step, then done', async () => {
    const r = await postSse(`${run.url}/v1/pipelines/chain/stream`, { trigger: { topic: 'tides' } }, AUTH);
    assert.equal(r.status, 200);
    const names = r.events.map((e) => (e.event === 'text' ? `text:${String(e.data.step)}` : e.event === 'done' ? 'done' : `${e.event}:${String(e.data.step)}`));
    const squeezed = names.filter((n, i) => n !== names[i - 1]);
    assert.deepEqual(squeezed, ['step_start:draft', 'text:draft', 'step_end:draft', 'step_start:edit', 'text:edit', 'step_end:edit', 'step_start:sign', 'text:sign', 'step_end:sign', 'done']);
    const text = r.events.filter((e) => e.event === 'text' && e.data.step === 'sign').map((e) => String(e.data.text)).join('');
    assert.equal(text, 'echo: fixed text (messages: 1)');
    const done = r.events.at(-1)?.data as Record<string, unknown>;
    assert.equal(done.status, 'completed');
    assert.equal((done.steps as Record<string, Record<string, unknown>>).sign?.status, 'completed');
    assert.equal((done.steps as Record<string, Record<string, unknown>>).sign?.output, undefined, 'outputs only with include_output');
    const withOutput = await postSse(`${run.url}/v1/pipelines/chain/stream`, { trigger: { topic: 'tides' }, include_output: true }, AUTH);
    assert.equal(((withOutput.events.at(-1)?.data.steps as Record<string, Record<string, unknown>>).sign)?.output, 'echo: fixed text (messages: 1)');
    const missing = await postSse(`${run.url}/v1/pipelines/nope/stream`, { trigger: {} }, AUTH);
    assert.equal(missing.status, 404);
  });

  test('stream of a failing run: every step ends with an event, also the one that never started', { timeout: 60_000 }, async () => {
    const r = await postSse(`${run.url}/v1/pipelines/fanout/stream`, { trigger: {} }, AUTH);
    const ends = Object.fromEntries(r.events.filter((e) => e.event === 'step_end').map((e) => [String(e.data.step), e.data.status]));
    assert.deepEqual(ends, { boom: 'failed', slow: 'cancelled', after: 'cancelled' });
    assert.equal(r.events.filter((e) => e.event === 'step_start' && e.data.step === 'after').length, 0);
    assert.equal(r.events.at(-1)?.event, 'done');
    assert.equal(r.events.at(-1)?.data.status, 'failed');
  });

  test('a client that goes away cancels the running steps', { timeout: 60_000 }, async () => {
    const heldBefore = fake.requests.filter(isHeld).length;
    const abandonedBefore = fake.abandoned();
    const controller = new AbortController();
    const pending = fetch(`${run.url}/v1/pipelines/waiting/run`, { method: 'POST', headers: { 'content-type': 'application/json', ...AUTH }, body: '{"trigger":{}}', signal: controller.signal });
    await eventually(() => fake.requests.filter(isHeld).length > heldBefore, 'the step reached the model');
    controller.abort();
    await assert.rejects(pending);
    await eventually(() => fake.abandoned() > abandonedBefore, 'the model call was aborted');
    await eventually(() => run.logs().some((l) => l.msg === 'pipeline finished' && l.pipeline === 'waiting' && l.status === 'cancelled'), 'the run ended as cancelled');
  });

  test('each run is one request log line naming the pipeline', async () => {
    await eventually(
      () => run.logs().some((l) => l.msg === 'request' && l.route === '/v1/pipelines/:name/run' && l.pipeline === 'chain' && l.status === 200 && l.agent === undefined),
      'a request line for the chain run',
    );
  });

  test('agentspec pipeline run --url runs it on the runtime, with the key from the environment', async () => {
    const r = await runCli(['pipeline', 'run', 'chain', '--url', run.url, '--input', '{"topic": "tides"}'], { env: { AGENTSPEC_API_KEY: KEY } });
    assert.equal(r.code, 0, r.stderr);
    const body = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(body.status, 'completed');
    assert.equal((body.steps as Record<string, Record<string, unknown>>).sign?.output, 'echo: fixed text (messages: 1)');
    const failed = await runCli(['pipeline', 'run', 'counted', '--url', run.url, '--api-key', KEY, '--input', '{"count": "x"}']);
    assert.equal(failed.code, 1, 'a failed pipeline is exit code 1');
    assert.equal((JSON.parse(failed.stdout) as Record<string, unknown>).status, 'failed');
    const refused = await runCli(['pipeline', 'run', 'chain', '--url', run.url, '--input', '{}'], { env: { AGENTSPEC_API_KEY: '' } });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /answered HTTP 401 unauthorized/);
    const usage = await runCli(['pipeline', 'run', 'chain', '--url', run.url, '--input', '[1]']);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /--input: must be a JSON object/);
  });
});
