import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { startMcp } from '../../../src/tools/mcp/index.ts';
import { startToolSet } from '../../../src/tools/index.ts';
import { call, startTestServer } from '../../runtime/fixtures.ts';
import { compile, ctx, NODE, q, tempDir, waitFor } from './helpers.ts';

const TEST_SERVER = fileURLToPath(new URL('./fixtures/test-server.ts', import.meta.url));

/** An agent connected to a client of one server whose tool list grows at run time. */
const DYNAMIC_SPEC = `package "t" version "0.1.0" lang "2.0"
prompt "p" {
  content "x"
}
server "dyn" {
  transport "stdio"
  command ${q(NODE)}
  args ["--import", "tsx", ${q(TEST_SERVER)}, "stdio"]
}
client "c" {
  connects to server "dyn"
}
agent "bot" {
  uses prompt "p"
  model "echo"
  connects to client "c"
}
`;

test('tools/list_changed refreshes the tool list: a tool the server adds is offered and callable', async () => {
  const t = await tempDir('mcp-list-changed');
  const docs = await compile(t.dir, DYNAMIC_SPEC);
  const pool = await startMcp(docs, { secrets: new Map() });
  try {
    const names = (): string[] => pool.clientTools('c').map((x) => x.name);
    assert.deepEqual(names().sort(), ['add_tool', 'fail', 'pid']);
    const add = pool.clientTools('c').find((x) => x.name === 'add_tool');
    assert.equal((await add?.call({ name: 'late_tool' }, ctx()))?.content, 'added late_tool');
    await waitFor('the refreshed list', () => (names().includes('late_tool') ? true : undefined), 5000);
    const late = pool.clientTools('c').find((x) => x.name === 'late_tool');
    assert.ok(late);
    assert.equal(late.spec.description, 'added at run time: late_tool');
    // Its schema came with the refresh: arguments are checked against it.
    assert.match((await late.call({ say: 5 }, ctx())).content, /input\/say must be string/);
    assert.deepEqual(await late.call({ say: 'hello' }, ctx()), { content: 'late_tool says hello', is_error: false, truncated: false, bytes: 20 });
  } finally {
    await pool.close();
    await t.cleanup();
  }
});

test('a tool a server adds at run time is offered to the connected agent and runs through the runtime', async (t) => {
  const tmp = await tempDir('mcp-list-changed-runtime');
  t.after(() => tmp.cleanup());
  const docs = await compile(tmp.dir, DYNAMIC_SPEC);
  const tools = await startToolSet(docs, { env: process.env, sandbox: 'off' });
  const srv = await startTestServer(docs, { tools });
  t.after(() => srv.close());
  const before = await call(`${srv.url}/v1/agents/bot/invoke`, 'POST', { message: '/tool late_tool {"say": "hello"}' });
  assert.equal(before.status, 200, JSON.stringify(before.body));
  assert.match(String(before.body.output), /not available/);
  const add = await call(`${srv.url}/v1/agents/bot/invoke`, 'POST', { message: '/tool add_tool {"name": "late_tool"}' });
  assert.equal(add.status, 200, JSON.stringify(add.body));
  assert.match(String(add.body.output), /added late_tool/);
  // The server announces the change; the runtime offers and runs the new tool without a restart.
  const output = await waitFor('the agent to run the added tool', async () => {
    const late = await call(`${srv.url}/v1/agents/bot/invoke`, 'POST', { message: '/tool late_tool {"say": "hello"}' });
    assert.equal(late.status, 200, JSON.stringify(late.body));
    const text = String(late.body.output);
    return /not available/.test(text) ? undefined : text;
  }, 5000);
  assert.match(output, /late_tool says hello/);
});
