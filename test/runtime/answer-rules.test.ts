// `validate { rule ... }` of an agent, served by a real `agentspec run` child whose model is the
// fake Anthropic API: scripted answers fail a rule and then pass it, or keep failing.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { anthropicMessage, type FakeLlm } from './fake-llm.ts';
import { call } from './fixtures.ts';
import type { RunChild } from './run-child.ts';
import { startSpecRuntime, type SpecRuntime } from './spec-child.ts';
import { postSse } from './sse-client.ts';

const rule = (agent: string, rules: string, extra = ''): string => `
agent "${agent}" {
  uses prompt "p"
  model "claude-test"${extra}
  validate {
${rules}
  }
}
`;

const SPEC = `package "rules" version "1.0.0" lang "3.0"

prompt "p" {
  content "You answer."
}
${rule('maxlen', '    rule short error max_retries 1\n      "At most 10 characters"\n      when len(output) <= 10')}
${rule('minlen', '    rule long_enough error max_retries 1\n      "At least 5 characters"\n      when len(output) >= 5')}
${rule('phone', '    rule phone error max_retries 1\n      "Answer with a phone number like 555-1234"\n      when output matches "^\\d{3}-\\d{4}$"')}
${rule('json', '    rule json error max_retries 1\n      "Answer with a JSON object whose ok is true"\n      when isJSON(output) and fromJSON(output).ok == true')}
${rule('secretless', '    rule no_password error max_retries 1\n      "Never say the password"\n      when not (lower(output) contains "password")')}
${rule('stubborn', '    rule short error max_retries 2\n      "At most 3 characters"\n      when len(output) <= 3')}
${rule('bounded', '    rule short error max_retries 5\n      "At most 3 characters"\n      when len(output) <= 3', '\n  max_turns 2')}
${rule('strict', '    rule short error\n      "At most 3 characters"\n      when len(output) <= 3')}
${rule('polite', '    rule polite warning\n      "Should say please"\n      when output contains "please"\n    rule non_empty error\n      "Must not be empty"\n      when output != ""')}
`;

const text = (t: string) => anthropicMessage([{ type: 'text', text: t }]);

/** The text of every message of one recorded provider request, in order. */
function sentTexts(body: Record<string, unknown>): string[] {
  const messages = body.messages as Array<{ role: string; content: string | Array<{ type: string; text?: string }> }>;
  return messages.map((m) => `${m.role}: ${typeof m.content === 'string' ? m.content : m.content.map((b) => b.text ?? '').join('')}`);
}

describe('validate rules of an agent', () => {
  let srv: SpecRuntime;
  let fake: FakeLlm;
  let run: RunChild;

  before(async () => {
    srv = await startSpecRuntime(SPEC, 'rules');
    ({ fake, run } = srv);
  });
  after(() => srv.close());
  beforeEach(() => {
    fake.requests.length = 0;
    fake.replies.length = 0;
  });

  const invoke = (agent: string, body: Record<string, unknown>) => call(`${run.url}/v1/agents/${agent}/invoke`, 'POST', body);

  const cases: Array<{ agent: string; bad: string; good: string }> = [
    { agent: 'maxlen', bad: 'far more than ten characters', good: 'short' },
    { agent: 'minlen', bad: 'no', good: 'long enough' },
    { agent: 'phone', bad: 'call 555-1234', good: '555-1234' },
    { agent: 'json', bad: '{"ok": false}', good: '{"ok": true}' },
    { agent: 'secretless', bad: 'The PASSWORD is hunter2', good: 'I cannot share that' },
  ];
  for (const c of cases) {
    test(`${c.agent}: a passing answer goes out after one model call`, async () => {
      fake.replies.push(text(c.good));
      const r = await invoke(c.agent, { message: 'q' });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.output, c.good);
      assert.equal(fake.requests.length, 1);
    });

    test(`${c.agent}: a failing answer is re-asked with the rule's message, the next one passes`, async () => {
      fake.replies.push(text(c.bad), text(c.good));
      const r = await invoke(c.agent, { message: 'q' });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.output, c.good);
      assert.equal(r.body.turns, 2);
      assert.equal(fake.requests.length, 2);
      const second = sentTexts(fake.requests[1]!.body);
      assert.equal(second[0], 'user: q');
      assert.equal(second[1], `assistant: ${c.bad}`);
      assert.match(second[2] ?? '', /^user: Your previous answer was rejected by these rules:/);
    });
  }

  test('re-asks stop at max_retries: 422 answer_rejected naming the rule, and the session keeps nothing of the turn', async () => {
    const session = await call(`${run.url}/v1/agents/stubborn/sessions`, 'POST', {});
    const id = String(session.body.session_id);
    fake.replies.push(text('too long, always'));
    const r = await invoke('stubborn', { message: 'q', session_id: id });
    assert.equal(r.status, 422, JSON.stringify(r.body));
    assert.equal(r.body.error, 'answer_rejected');
    assert.match(String(r.body.message), /rule "short" \(At most 3 characters\) after 3 attempt/);
    assert.equal(fake.requests.length, 3, 'one answer and max_retries (2) re-asks');
    const history = await call(`${run.url}/v1/agents/stubborn/sessions/${id}`, 'GET');
    assert.equal(history.body.total, 0);
    // The session still works: the next turn is stored whole.
    fake.replies.length = 0;
    fake.replies.push(text('ok'));
    const next = await invoke('stubborn', { message: 'again', session_id: id });
    assert.equal(next.status, 200, JSON.stringify(next.body));
    const after2 = await call(`${run.url}/v1/agents/stubborn/sessions/${id}`, 'GET');
    assert.deepEqual(
      (after2.body.messages as Array<Record<string, unknown>>).map((m) => [m.role, m.content]),
      [
        ['user', 'again'],
        ['assistant', 'ok'],
      ],
    );
  });

  test('re-asks are model calls of the turn: max_turns ends them with the same 422', async () => {
    fake.replies.push(text('too long, always'));
    const r = await invoke('bounded', { message: 'q' });
    assert.equal(r.status, 422, JSON.stringify(r.body));
    assert.equal(r.body.error, 'answer_rejected');
    assert.equal(fake.requests.length, 2);
  });

  test('a rule without max_retries is not re-asked', async () => {
    fake.replies.push(text('too long'));
    const r = await invoke('strict', { message: 'q' });
    assert.equal(r.status, 422, JSON.stringify(r.body));
    assert.equal(fake.requests.length, 1);
  });

  test('the session stores the question and the accepted answer, not the rejected one nor the re-ask', async () => {
    const session = await call(`${run.url}/v1/agents/maxlen/sessions`, 'POST', {});
    const id = String(session.body.session_id);
    fake.replies.push(text('this answer is far too long'), text('short'));
    const r = await invoke('maxlen', { message: 'q', session_id: id });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const history = await call(`${run.url}/v1/agents/maxlen/sessions/${id}`, 'GET');
    assert.deepEqual(
      (history.body.messages as Array<Record<string, unknown>>).map((m) => [m.role, m.content]),
      [
        ['user', 'q'],
        ['assistant', 'short'],
      ],
    );
  });

  test('a stream sends only the accepted answer, never a rejected one', async () => {
    fake.replies.push(text('this answer is far too long'), text('short'));
    const r = await postSse(`${run.url}/v1/agents/maxlen/stream`, { message: 'q' });
    assert.equal(r.status, 200);
    const streamed = r.events
      .filter((e) => e.event === 'text')
      .map((e) => e.data.text)
      .join('');
    assert.equal(streamed, 'short');
    assert.equal(r.events.at(-1)?.event, 'done');
  });

  test('a warning rule only logs (agent, rule, session); the answer goes out', async () => {
    const session = await call(`${run.url}/v1/agents/polite/sessions`, 'POST', {});
    const id = String(session.body.session_id);
    fake.replies.push(text('no'));
    const r = await invoke('polite', { message: 'q', session_id: id });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.output, 'no');
    assert.equal(fake.requests.length, 1);
    const warned = (): Array<Record<string, unknown>> => run.logs().filter((l) => l.msg === 'answer failed a warning rule');
    for (let i = 0; i < 100 && warned().length === 0; i++) await new Promise((res) => setTimeout(res, 50));
    assert.deepEqual(
      warned().map((l) => [l.agent, l.rule, l.session, l.level]),
      [['polite', 'polite', id, 40]],
    );
  });
});
