import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { McpPool, startMcp } from '../../../src/tools/mcp/index.ts';
import { alive, compile, ctx, EVERYTHING, NODE, q, tempDir } from './helpers.ts';

// server-everything over stdio, started the way the runtime starts it.
const SPEC = `package "t" version "0.1.0" lang "2.0"
prompt "p" {
  content "x"
}
server "everything" {
  transport "stdio"
  command ${q(NODE)}
  args [${q(EVERYTHING)}, "stdio"]
  env {
    DECLARED_VAR "declared"
  }
  metadata {
    timeout "1s"
  }
}
client "all" {
  connects to server "everything"
}
skill "say" {
  description "Say something back"
  input {
    message string required
  }
  output {
    text string
  }
  tool mcp "everything/echo"
}
skill "add" {
  description "Add two numbers"
  input {
    a float required
    b float required
  }
  output {
    sum float
  }
  tool mcp "everything/get-sum"
}
agent "bot" {
  uses prompt "p"
  uses skill "say"
  uses skill "add"
  model "echo"
  connects to client "all"
}
`;

describe('MCP over stdio (server-everything)', () => {
  let pool: McpPool;
  let cleanup: () => Promise<void>;
  const hidden = 'AGENTSPEC_TEST_RUNTIME_ONLY';

  before(async () => {
    const t = await tempDir('mcp-stdio');
    cleanup = t.cleanup;
    const docs = await compile(t.dir, SPEC);
    pool = await startMcp(docs, { secrets: new Map(), maxOutputBytes: 4096, env: { ...process.env, [hidden]: 'must-not-leak' } });
  });
  after(async () => {
    await pool.close();
    await cleanup();
  });

  test('a tool mcp skill calls the server tool and returns its text', async () => {
    const out = await pool.toolFor('say', 'everything', 'echo').call({ message: 'hello mcp' }, ctx());
    assert.deepEqual(out, { content: 'Echo: hello mcp', is_error: false, truncated: false, bytes: 15 });
    const sum = await pool.toolFor('add', 'everything', 'get-sum').call({ a: 2, b: 40 }, ctx());
    assert.equal(sum.is_error, false);
    assert.match(sum.content, /42/);
  });

  test('the skill spec, when given, is what the model sees; otherwise the server\'s own', () => {
    const spec = { name: 'say', description: 'Say something back', input_schema: { type: 'object', properties: { message: { type: 'string' } }, required: ['message'] } };
    assert.deepEqual(pool.toolFor('say', 'everything', 'echo', spec).spec, spec);
    const own = pool.toolFor('say', 'everything', 'echo').spec;
    assert.equal(own.name, 'say');
    assert.match(own.description, /echo/i);
    assert.deepEqual((own.input_schema as { required?: string[] }).required, ['message']);
  });

  test('invalid arguments are an is_error outcome naming the field, and nothing is sent', async () => {
    const tool = pool.toolFor('say', 'everything', 'echo');
    const wrongType = await tool.call({ message: 42 }, ctx());
    assert.equal(wrongType.is_error, true);
    assert.match(wrongType.content, /input\/message must be string/);
    const missing = await tool.call({}, ctx());
    assert.equal(missing.is_error, true);
    assert.match(missing.content, /required property 'message'/);
    const notObject = await tool.call('text', ctx());
    assert.match(notObject.content, /must be a JSON object/);
    // The skill's own schema is checked too (a float field given a string).
    const spec = { name: 'add', description: 'Add', input_schema: { type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } }, required: ['a', 'b'] } };
    const bySkill = await pool.toolFor('add', 'everything', 'get-sum', spec).call({ a: 'one', b: 2 }, ctx());
    assert.match(bySkill.content, /input\/a must be number/);
  });

  test('a client offers every tool of its servers under the server\'s names', async () => {
    const tools = pool.clientTools('all');
    const names = tools.map((t) => t.name);
    for (const n of ['echo', 'get-sum', 'get-env', 'trigger-long-running-operation']) assert.ok(names.includes(n), `${n} in ${names.join(', ')}`);
    const echo = tools.find((t) => t.name === 'echo');
    assert.equal(echo?.kind, 'mcp');
    assert.equal((await echo?.call({ message: 'via client' }, ctx()))?.content, 'Echo: via client');
  });

  test('the server gets PATH/HOME/locale and its declared env, nothing else of the runtime', async () => {
    const getEnv = pool.clientTools('all').find((t) => t.name === 'get-env');
    assert.ok(getEnv);
    const out = await getEnv.call({}, ctx());
    assert.equal(out.is_error, false);
    assert.equal(out.truncated, false, 'a scrubbed environment is small');
    const env = JSON.parse(out.content) as Record<string, string>;
    assert.equal(env.DECLARED_VAR, 'declared');
    assert.equal(env.PATH, process.env.PATH);
    assert.equal(env[hidden], undefined);
    assert.equal(env.AGENTSPEC_MCP_GUARD_GRACE_MS, undefined, 'the guard keeps its settings to itself');
  });

  test('binary content is described, not pasted', async () => {
    const img = pool.clientTools('all').find((t) => t.name === 'get-tiny-image');
    assert.ok(img);
    const out = await img.call({}, ctx());
    assert.equal(out.is_error, false);
    assert.match(out.content, /\[image: image\/png, \d+ bytes\]/);
    assert.ok(!out.content.includes('iVBOR'), 'no base64 PNG in the text');
  });

  test('a call over the per-call timeout is an is_error outcome, and the next call works', async () => {
    const long = pool.clientTools('all').find((t) => t.name === 'trigger-long-running-operation');
    assert.ok(long);
    const started = Date.now();
    const out = await long.call({ duration: 5, steps: 5 }, ctx());
    const took = Date.now() - started;
    assert.equal(out.is_error, true);
    assert.match(out.content, /timed out after 1000ms/);
    assert.ok(took >= 950 && took < 4000, `timed out after ${took}ms`);
    assert.equal((await pool.toolFor('say', 'everything', 'echo').call({ message: 'after' }, ctx())).content, 'Echo: after');
  });

  test('calls leave no listener on the turn\'s signal (a long turn makes many calls)', async () => {
    const ac = new AbortController();
    const tool = pool.toolFor('say', 'everything', 'echo');
    for (let i = 0; i < 20; i++) assert.equal((await tool.call({ message: `n${i}` }, ctx({ signal: ac.signal }))).is_error, false);
    assert.equal(getEventListeners(ac.signal, 'abort').length, 0);
  });

  test('an aborted call rejects at once', async () => {
    const long = pool.clientTools('all').find((t) => t.name === 'trigger-long-running-operation');
    assert.ok(long);
    const ac = new AbortController();
    const started = Date.now();
    const call = long.call({ duration: 5, steps: 5 }, ctx({ signal: ac.signal }));
    setTimeout(() => ac.abort(new Error('client left')), 100);
    await assert.rejects(call, /client left/);
    assert.ok(Date.now() - started < 900);
  });

  test('output over the cap is truncated and marked; bytes counts the whole output', async () => {
    // 6000 bytes of echo against a 4096-byte cap.
    const big = 'x'.repeat(6000);
    const out = await pool.toolFor('say', 'everything', 'echo').call({ message: big }, ctx());
    assert.equal(out.truncated, true);
    assert.equal(out.bytes, 6006);
    assert.match(out.content, /\[output truncated: 4096 of 6006 bytes shown\]$/);
  });

  test('close stops the server and its guard', async () => {
    const t = await tempDir('mcp-stdio-close');
    try {
      const docs = await compile(t.dir, SPEC);
      const own = await startMcp(docs, { secrets: new Map() });
      const procs = own.processes();
      assert.equal(procs.length, 1);
      const [p] = procs;
      assert.ok(p?.serverPid !== undefined);
      assert.equal(await alive(p.pid), true);
      assert.equal(await alive(p.serverPid), true);
      await own.close();
      assert.equal(await alive(p.pid), false);
      assert.equal(await alive(p.serverPid), false);
      assert.deepEqual(own.processes(), []);
      const after = await own.toolFor('say', 'everything', 'echo').call({ message: 'late' }, ctx());
      assert.equal(after.is_error, true);
      assert.match(after.content, /shutting down/);
    } finally {
      await t.cleanup();
    }
  });
});
