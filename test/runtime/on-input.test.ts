// `on input { ... }` served by a real `agentspec run` child: statements run before the model (the
// fake Anthropic API counts the model calls), skills through the tool layer, delegation to another
// served agent, and an expression that fails is a clean 422 while the server keeps serving.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../helpers/cli.ts';
import { anthropicMessage, type FakeLlm } from './fake-llm.ts';
import { call, irDoc } from './fixtures.ts';
import type { RunChild } from './run-child.ts';
import { startSpecRuntime, type SpecRuntime } from './spec-child.ts';
import { postSse } from './sse-client.ts';

const SPEC = `package "logic" version "1.0.0" lang "3.0"

prompt "p" {
  content "You answer."
}

skill "shout" {
  description "Say the text"
  input {
    text string required
  }
  output {
    result string
  }
  tool command {
    binary "echo"
    args ["said:", "{{text}}"]
  }
}

skill "lookup" {
  description "Look the query up"
  input {
    query string required
  }
  output {
    result string
  }
  tool command {
    binary "echo"
    args ["found:", "{{query}}"]
  }
}

agent "router" {
  uses prompt "p"
  model "claude-test"
  on input {
    if input == "ping" {
      respond "pong"
    } else if input startsWith "shout " {
      use skill shout with { text: input }
      respond "{{ trim(steps.shout) }}"
    } else if input == "fruits" {
      for each fruit in ["apple", "pear"] {
        use skill shout with { text: fruit }
      }
      respond "last: {{ trim(output) }}"
    } else if input startsWith "[" {
      for each item in fromJSON(input) {
        use skill shout with { text: item }
      }
      respond "{{ len(fromJSON(input)) }} items, last {{ trim(output) }}"
    } else if input == "ask" {
      delegate to helper
      respond "helper: {{ output }}"
    } else if input == "broken" {
      respond number(input)
    } else if input == "look" {
      use skill lookup
    }
  }
}

agent "helper" {
  uses prompt "p"
  model "echo"
}

agent "gate" {
  uses prompt "p"
  model "claude-test"
  on input {
    if lower(input) == "a" or input in ["alpha", "first"] {
      respond "A"
    } else {
      respond "not A: {{ input }}"
    }
  }
}

agent "loop-a" {
  uses prompt "p"
  model "echo"
  on input {
    delegate to loop-b
  }
}

agent "loop-b" {
  uses prompt "p"
  model "echo"
  on input {
    delegate to loop-a
  }
}
`;

describe('on input statements', () => {
  let srv: SpecRuntime;
  let fake: FakeLlm;
  let run: RunChild;

  before(async () => {
    srv = await startSpecRuntime(SPEC, 'on-input');
    ({ fake, run } = srv);
  });
  after(() => srv.close());
  beforeEach(() => {
    fake.requests.length = 0;
    fake.replies.length = 0;
    fake.replies.push(anthropicMessage([{ type: 'text', text: 'from the model' }]));
  });

  const invoke = (message: string, extra: Record<string, unknown> = {}) => call(`${run.url}/v1/agents/router/invoke`, 'POST', { message, ...extra });
  const historyOf = async (id: string): Promise<unknown[][]> => {
    const h = await call(`${run.url}/v1/agents/router/sessions/${id}`, 'GET');
    return (h.body.messages as Array<Record<string, unknown>>).map((m) => [m.role, m.content]);
  };

  test('respond answers without calling the model; the session stores the question and that answer', async () => {
    const session = await call(`${run.url}/v1/agents/router/sessions`, 'POST', {});
    const id = String(session.body.session_id);
    const r = await invoke('ping', { session_id: id });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.output, 'pong');
    assert.equal(r.body.turns, 0);
    assert.equal(r.body.stop_reason, 'end_turn');
    assert.equal(fake.requests.length, 0);
    assert.deepEqual(await historyOf(id), [
      ['user', 'ping'],
      ['assistant', 'pong'],
    ]);
  });

  test('a stream of a respond turn carries the answer as text, then done', async () => {
    const r = await postSse(`${run.url}/v1/agents/router/stream`, { message: 'ping' });
    assert.equal(r.status, 200);
    assert.deepEqual(
      r.events.map((e) => e.event),
      ['text', 'done'],
    );
    assert.equal(r.events[0]?.data.text, 'pong');
    assert.equal(fake.requests.length, 0);
  });

  test('use skill runs the skill through the tool layer and its result feeds respond', async () => {
    const r = await invoke('shout hi');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.output, 'said: shout hi');
    assert.equal(fake.requests.length, 0);
  });

  test('if / else if / else picks one branch; no branch matched means the model answers', async () => {
    assert.equal((await invoke('ping')).body.output, 'pong');
    assert.equal((await invoke('shout x')).body.output, 'said: shout x');
    assert.equal(fake.requests.length, 0);
    const r = await invoke('something else');
    assert.equal(r.body.output, 'from the model');
    assert.equal(fake.requests.length, 1);
    assert.equal(fake.requests[0]!.body.system, 'You answer.');
    const gate = (message: string) => call(`${run.url}/v1/agents/gate/invoke`, 'POST', { message });
    assert.deepEqual(
      await Promise.all(['A', 'first', 'b'].map(async (m) => (await gate(m)).body.output)),
      ['A', 'A', 'not A: b'],
    );
    assert.equal(fake.requests.length, 1);
  });

  test('for each runs its body per item, over a literal list and over JSON the user sent', async () => {
    const fruits = await invoke('fruits');
    assert.equal(fruits.status, 200, JSON.stringify(fruits.body));
    assert.equal(fruits.body.output, 'last: said: pear');
    const items = await invoke('["a", "b", "c"]');
    assert.equal(items.status, 200, JSON.stringify(items.body));
    assert.equal(items.body.output, '3 items, last said: c');
    assert.equal(fake.requests.length, 0);
  });

  test('delegate runs the other agent and its answer is used; its tokens count for the turn', async () => {
    const r = await invoke('ask');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.output, 'helper: echo: ask (messages: 1)');
    assert.ok((r.body.tokens as { total: number }).total > 0);
    assert.equal(fake.requests.length, 0);
  });

  test('results of statements that did not respond reach the model with its system prompt, not the session', async () => {
    const session = await call(`${run.url}/v1/agents/router/sessions`, 'POST', {});
    const id = String(session.body.session_id);
    const r = await invoke('look', { session_id: id });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.output, 'from the model');
    assert.equal(fake.requests.length, 1);
    const system = String(fake.requests[0]!.body.system);
    assert.match(system, /^You answer\./);
    assert.match(system, /\[skill lookup\]\nfound: look/);
    assert.deepEqual(await historyOf(id), [
      ['user', 'look'],
      ['assistant', 'from the model'],
    ]);
  });

  test('an expression that fails is 422 expression_error naming it; nothing is stored and the server keeps serving', async () => {
    const session = await call(`${run.url}/v1/agents/router/sessions`, 'POST', {});
    const id = String(session.body.session_id);
    const r = await invoke('broken', { session_id: id });
    assert.equal(r.status, 422, JSON.stringify(r.body));
    assert.equal(r.body.error, 'expression_error');
    assert.match(String(r.body.message), /agent "router", on input statement .*\(respond\): expression `number \( input \)` failed: number\(\) cannot read "broken"/);
    assert.deepEqual(await historyOf(id), []);
    const again = await invoke('ping');
    assert.equal(again.status, 200);
    assert.equal(again.body.output, 'pong');
  });

  test('a delegation loop through on input is a 500 on_input_error, not a hang or a crash', async () => {
    const r = await call(`${run.url}/v1/agents/loop-a/invoke`, 'POST', { message: 'hi' });
    assert.equal(r.status, 500, JSON.stringify(r.body));
    assert.equal(r.body.error, 'on_input_error');
    assert.match(String(r.body.message), /loop-a -> loop-b -> loop-a/);
    assert.equal((await invoke('ping')).status, 200);
  });
});

test('agentspec run refuses, before listening, an IR whose on input expression does not parse', { timeout: 60_000 }, async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'agentspec-on-input-ir-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const doc = irDoc({ agents: [{ name: 'bad', attrs: { on_input: [{ type: 'if', condition: 'input = "x"', body: [] }] } }] });
  await writeFile(path.join(dir, 'ir.json'), JSON.stringify(doc));
  const r = await runCli(['run', '--port', '0', '--ir', path.join(dir, 'ir.json')]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /agent "bad", on input statement 1 \(if condition\): expression `input = "x"`: unexpected "=" \(comparisons are == != < <= > >=\) at column 7/);
});
