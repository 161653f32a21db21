import { test } from 'node:test';
import assert from 'node:assert/strict';
import { McpConfigError, McpStartError, McpToolNotFoundError, startMcp } from '../../../src/tools/mcp/index.ts';
import type { IRDocument } from '../../../src/ir/types.ts';
import { freePort } from '../../helpers/services.ts';
import { compile, ctx, EVERYTHING, NODE, processesWith, q, tempDir } from './helpers.ts';

function spec(server: string, extra = ''): string {
  return `package "t" version "0.1.0" lang "2.0"
prompt "p" {
  content "x"
}
${server}
skill "say" {
  description "Say"
  input {
    message string required
  }
  output {
    text string
  }
  tool mcp "srv/echo"
  ${extra}
}
agent "bot" {
  uses prompt "p"
  uses skill "say"
  model "echo"
}
`;
}

async function withDocs<T>(source: string, fn: (docs: IRDocument[], dir: string) => Promise<T>): Promise<T> {
  const t = await tempDir('mcp-startup');
  try {
    return await fn(await compile(t.dir, source), t.dir);
  } finally {
    await t.cleanup();
  }
}

test('a server command that is not on PATH is a start-up error naming the server and the command', async () => {
  const source = spec(`server "srv" {\n  transport "stdio"\n  command "no-such-mcp-server-binary"\n}`);
  await withDocs(source, async (docs) => {
    await assert.rejects(startMcp(docs, { secrets: new Map() }), (err: unknown) => {
      assert.ok(err instanceof McpStartError);
      assert.equal(err.code, 'E_MCP_START');
      assert.equal(err.server, 'srv');
      assert.match(err.message, /MCP server "srv" failed to start: command "no-such-mcp-server-binary" not found on PATH/);
      return true;
    });
  });
});

test('a server that exits before initialize is a start-up error with its exit status and stderr', async () => {
  const code = "console.error('config file missing: /etc/srv.conf'); process.exit(4)";
  const source = spec(`server "srv" {\n  transport "stdio"\n  command ${q(NODE)}\n  args ["-e", ${q(code)}]\n}`);
  await withDocs(source, async (docs, dir) => {
    await assert.rejects(startMcp(docs, { secrets: new Map() }), (err: unknown) => {
      assert.ok(err instanceof McpStartError);
      assert.match(err.message, /exited \(code 4\) before answering initialize/);
      assert.deepEqual(err.stderr, ['config file missing: /etc/srv.conf']);
      assert.match(err.message, /server stderr:\n\s+config file missing/);
      return true;
    });
    assert.deepEqual(await processesWith(dir), []);
  });
});

test('a server that never answers initialize fails start-up at the start timeout and is stopped', async () => {
  const t = await tempDir('mcp-startup-silent');
  try {
    const code = `setInterval(() => {}, 1000); // ${t.dir}`;
    const docs = await compile(t.dir, spec(`server "srv" {\n  transport "stdio"\n  command ${q(NODE)}\n  args ["-e", ${q(code)}]\n}`));
    const started = Date.now();
    await assert.rejects(startMcp(docs, { secrets: new Map(), startTimeoutMs: 500 }), /MCP server "srv" failed to start: no answer to initialize within 500ms/);
    assert.ok(Date.now() - started < 5000);
    assert.deepEqual(await processesWith(t.dir), [], 'the silent server was stopped');
  } finally {
    await t.cleanup();
  }
});

test('a skill naming a tool its server lacks is a start-up error listing what it has; other servers are stopped', async () => {
  const source = spec(`server "srv" {\n  transport "stdio"\n  command ${q(NODE)}\n  args [${q(EVERYTHING)}, "stdio"]\n}`).replace('tool mcp "srv/echo"', 'tool mcp "srv/ecko"');
  await withDocs(source, async (docs) => {
    await assert.rejects(startMcp(docs, { secrets: new Map() }), (err: unknown) => {
      assert.ok(err instanceof McpToolNotFoundError);
      assert.equal(err.code, 'E_MCP_TOOL_NOT_FOUND');
      assert.match(err.message, /skill "say": MCP server "srv" has no tool "ecko" \(available: .*echo.*\)/);
      return true;
    });
  });
});

test('an optional skill whose server fails starts degraded: the tool answers with an error, the server is retried', async () => {
  const source = spec(`server "srv" {\n  transport "stdio"\n  command "no-such-mcp-server-binary"\n}`, 'metadata {\n    optional "true"\n  }');
  await withDocs(source, async (docs) => {
    const pool = await startMcp(docs, { secrets: new Map(), callTimeoutMs: 300, backoffInitialMs: 50 });
    try {
      const tool = pool.toolFor('say', 'srv', 'echo');
      assert.match(tool.spec.description, /server not connected/);
      const out = await tool.call({ message: 'hi' }, ctx());
      assert.equal(out.is_error, true);
      assert.match(out.content, /MCP server "srv" is unavailable: .*not found on PATH/);
    } finally {
      await pool.close();
    }
  });
});

test('an HTTP server whose auth secret has no value is a start-up error naming the secret', async () => {
  const source = spec(`secret "tok" {\n  env(MCP_TOKEN)\n}\nserver "srv" {\n  transport "streamable-http"\n  url "http://127.0.0.1:9/mcp"\n  auth "tok"\n}`);
  await withDocs(source, async (docs) => {
    await assert.rejects(startMcp(docs, { secrets: new Map() }), /MCP server "srv" failed to start: secret "tok" \(its auth\) has no value/);
  });
});

test('an unreachable HTTP server is a start-up error naming the server, the url and the cause', async () => {
  const port = await freePort();
  const source = spec(`server "srv" {\n  transport "streamable-http"\n  url "http://127.0.0.1:${port}/mcp"\n}`);
  await withDocs(source, async (docs) => {
    await assert.rejects(startMcp(docs, { secrets: new Map() }), new RegExp(`MCP server "srv" failed to start: cannot connect to http://127\\.0\\.0\\.1:${port}/mcp: .*ECONNREFUSED`));
  });
});

test('a transport the runtime cannot speak, or a tool reference without a server, is a config error', async () => {
  await withDocs(spec(`server "srv" {\n  transport "websocket"\n  url "ws://127.0.0.1:9"\n}`), async (docs) => {
    await assert.rejects(startMcp(docs, { secrets: new Map() }), (err: unknown) => err instanceof McpConfigError && /transport "websocket" is not supported/.test(err.message));
  });
  await withDocs(spec(`server "srv" {\n  transport "stdio"\n  command "x"\n}`).replace('tool mcp "srv/echo"', 'tool mcp "echo"'), async (docs) => {
    await assert.rejects(startMcp(docs, { secrets: new Map() }), /skill "say": tool mcp "echo" must name "server\/tool"/);
  });
});

test('servers no served agent uses are not started', async () => {
  const source = spec(`server "srv" {\n  transport "stdio"\n  command ${q(NODE)}\n  args [${q(EVERYTHING)}, "stdio"]\n}\nserver "unused" {\n  transport "stdio"\n  command "no-such-mcp-server-binary"\n}`);
  await withDocs(source, async (docs) => {
    const pool = await startMcp(docs, { secrets: new Map() });
    try {
      assert.deepEqual(pool.processes().map((p) => p.server), ['srv']);
      // A skill of the unused server can still be built; it says why it does not run.
      const idle = await pool.toolFor('x', 'unused', 'echo').call({}, ctx());
      assert.equal(idle.is_error, true);
      assert.match(idle.content, /MCP server "unused" is not started: no served agent uses/);
      assert.throws(() => pool.toolFor('x', 'undeclared', 'echo'), McpConfigError);
    } finally {
      await pool.close();
    }
  });
});
