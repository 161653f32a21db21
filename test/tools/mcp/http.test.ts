import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { McpStartError, startMcp } from '../../../src/tools/mcp/index.ts';
import { canConnect, freePort } from '../../helpers/services.ts';
import { compile, ctx, NODE, q, startEverythingHttp, tempDir, waitFor, type HttpServer } from './helpers.ts';

const TEST_SERVER = fileURLToPath(new URL('./fixtures/test-server.ts', import.meta.url));

function spec(transport: string, url: string, auth = ''): string {
  return `package "t" version "0.1.0" lang "2.0"
prompt "p" {
  content "x"
}
secret "token" {
  env(MCP_TEST_TOKEN)
}
server "remote" {
  transport ${q(transport)}
  url ${q(url)}
  ${auth}
}
client "c" {
  connects to server "remote"
}
agent "bot" {
  uses prompt "p"
  model "echo"
  connects to client "c"
}
`;
}

for (const mode of ['streamableHttp', 'sse'] as const) {
  const transport = mode === 'sse' ? 'sse' : 'streamable-http';
  test(`server-everything over ${transport}: tools listed and called`, async () => {
    const t = await tempDir(`mcp-${mode}`);
    const server = await startEverythingHttp(mode);
    const pool = await startMcp(await compile(t.dir, spec(transport, server.url)), { secrets: new Map() });
    try {
      const tools = pool.clientTools('c');
      const echo = tools.find((x) => x.name === 'echo');
      assert.ok(echo, tools.map((x) => x.name).join(', '));
      assert.deepEqual(await echo.call({ message: `over ${transport}` }, ctx()), {
        content: `Echo: over ${transport}`,
        is_error: false,
        truncated: false,
        bytes: 6 + `over ${transport}`.length,
      });
      const sum = tools.find((x) => x.name === 'get-sum');
      assert.match((await sum?.call({ a: 1, b: 2 }, ctx()))?.content ?? '', /3/);
      assert.deepEqual(pool.processes(), [], 'a remote server has no local process');
    } finally {
      await pool.close();
      await server.stop();
      await t.cleanup();
    }
  });
}

test('a streamable-http server that dies is reconnected once it is back; the calls in between are tool errors', async () => {
  const t = await tempDir('mcp-http-restart');
  let server: HttpServer = await startEverythingHttp('streamableHttp');
  const port = new URL(server.url).port;
  const pool = await startMcp(await compile(t.dir, spec('streamable-http', server.url)), { secrets: new Map(), backoffInitialMs: 50, backoffMaxMs: 200, callTimeoutMs: 2000 });
  try {
    const echo = pool.clientTools('c').find((x) => x.name === 'echo');
    assert.ok(echo);
    assert.equal((await echo.call({ message: 'one' }, ctx())).content, 'Echo: one');
    await server.stop();
    const down = await echo.call({ message: 'two' }, ctx());
    assert.equal(down.is_error, true);
    assert.match(down.content, /MCP server "remote" (could not be reached|is unavailable)/);

    // Back on the same port (a new process: the old session is gone, so a new one is made).
    const child = spawn(NODE, [server.child.spawnargs[1] ?? '', 'streamableHttp'], { env: { ...process.env, PORT: port }, stdio: 'ignore' });
    server = { url: server.url, child, stop: server.stop };
    server.stop = async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    };
    await waitFor('the server to listen again', async () => ((await canConnect('127.0.0.1', Number(port))) ? true : undefined), 15_000);
    const back = await waitFor('a call to work again', async () => {
      const out = await echo.call({ message: 'three' }, ctx());
      return out.is_error ? undefined : out;
    });
    assert.equal(back.content, 'Echo: three');
    assert.ok((pool.server('remote')?.restarts ?? 0) >= 1);
  } finally {
    await pool.close();
    await server.stop();
    await t.cleanup();
  }
});

test('auth sends the secret as a bearer token: the right one connects, a wrong one is a start-up error', async () => {
  const t = await tempDir('mcp-http-auth');
  const port = await freePort();
  const child = spawn(NODE, ['--import', 'tsx', TEST_SERVER, 'http'], { env: { ...process.env, PORT: String(port), TOKEN: 'right-token' }, stdio: 'ignore' });
  try {
    await waitFor('the test server', async () => ((await canConnect('127.0.0.1', port)) ? true : undefined), 15_000);
    const docs = await compile(t.dir, spec('streamable-http', `http://127.0.0.1:${port}/mcp`, 'auth "token"'));
    await assert.rejects(startMcp(docs, { secrets: new Map([['token', 'wrong-token']]) }), (err: unknown) => {
      assert.ok(err instanceof McpStartError);
      assert.equal(err.server, 'remote');
      assert.match(err.message, /401/);
      assert.ok(!err.message.includes('wrong-token'), 'the secret value is not in the error');
      return true;
    });
    const pool = await startMcp(docs, { secrets: new Map([['token', 'right-token']]) });
    try {
      const pid = pool.clientTools('c').find((x) => x.name === 'pid');
      assert.ok(pid);
      const out = await pid.call({}, ctx());
      assert.equal(out.is_error, false);
      assert.equal(out.content, String(child.pid));
      const fail = pool.clientTools('c').find((x) => x.name === 'fail');
      assert.deepEqual(await fail?.call({}, ctx()), { content: 'it went wrong', is_error: true, truncated: false, bytes: 13 });
    } finally {
      await pool.close();
    }
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    await t.cleanup();
  }
});
