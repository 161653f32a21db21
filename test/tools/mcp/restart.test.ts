import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startMcp } from '../../../src/tools/mcp/index.ts';
import { alive, compile, ctx, EVERYTHING, NODE, q, tempDir, waitFor } from './helpers.ts';

const SPEC = `package "t" version "0.1.0" lang "2.0"
prompt "p" {
  content "x"
}
server "everything" {
  transport "stdio"
  command ${q(NODE)}
  args [${q(EVERYTHING)}, "stdio"]
}
client "all" {
  connects to server "everything"
}
agent "bot" {
  uses prompt "p"
  model "echo"
  connects to client "all"
}
`;

test('a server killed mid-call fails that call as a tool error and is restarted for the next', async () => {
  const t = await tempDir('mcp-restart');
  const pool = await startMcp(await compile(t.dir, SPEC), { secrets: new Map(), backoffInitialMs: 100 });
  try {
    const tools = pool.clientTools('all');
    const long = tools.find((x) => x.name === 'trigger-long-running-operation');
    const echo = tools.find((x) => x.name === 'echo');
    assert.ok(long && echo);
    const [first] = pool.processes();
    assert.ok(first?.serverPid !== undefined);

    const inFlight = long.call({ duration: 10, steps: 10 }, ctx());
    await new Promise((r) => setTimeout(r, 200));
    process.kill(first.serverPid, 'SIGKILL');
    const failed = await inFlight;
    assert.equal(failed.is_error, true);
    assert.match(failed.content, /went away during the call|unavailable/);

    // The next call waits for the restart (within its timeout) and works.
    const next = await echo.call({ message: 'back again' }, ctx());
    assert.deepEqual(next, { content: 'Echo: back again', is_error: false, truncated: false, bytes: 16 });
    assert.equal(pool.server('everything')?.restarts, 1);
    const [second] = pool.processes();
    assert.ok(second !== undefined && second.pid !== first.pid && second.serverPid !== first.serverPid);
    assert.equal(await alive(first.pid), false, 'the old guard is gone');

    // Killed again while idle: noticed without any call, restarted in the background.
    assert.ok(second.serverPid !== undefined);
    process.kill(second.serverPid, 'SIGKILL');
    await waitFor('the second restart', () => (pool.server('everything')?.restarts === 2 && pool.server('everything')?.isReady ? true : undefined));
    assert.equal((await echo.call({ message: 'third' }, ctx())).content, 'Echo: third');
  } finally {
    await pool.close();
    await t.cleanup();
  }
  assert.deepEqual(pool.processes(), []);
});

test('a call while the server is down and never comes back is an unavailable tool error within the timeout', async () => {
  const t = await tempDir('mcp-restart-down');
  // The server is a wrapper that runs server-everything once; after the kill, restarts find a
  // command that exits at once (a marker file flips it), so the server stays down.
  const flag = `${t.dir}/down`;
  const once = `if (require('node:fs').existsSync(${JSON.stringify(flag)})) process.exit(3); import(${JSON.stringify(EVERYTHING)});`;
  const spec = SPEC.replace(`args [${q(EVERYTHING)}, "stdio"]`, `args ["-e", ${q(once)}, "stdio"]\n  metadata {\n    timeout "700ms"\n  }`);
  const pool = await startMcp(await compile(t.dir, spec), { secrets: new Map(), backoffInitialMs: 50, backoffMaxMs: 200 });
  try {
    const echo = pool.clientTools('all').find((x) => x.name === 'echo');
    assert.ok(echo);
    assert.equal((await echo.call({ message: 'up' }, ctx())).content, 'Echo: up');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(flag, '');
    const [p] = pool.processes();
    assert.ok(p?.serverPid !== undefined);
    process.kill(p.serverPid, 'SIGKILL');
    // A failed restart attempt (the command now exits at once) is what the call should report.
    await waitFor('a failed restart', () => (pool.server('everything')?.lastFailure.includes('code 3') === true ? true : undefined));
    const started = Date.now();
    const out = await echo.call({ message: 'anyone?' }, ctx());
    assert.equal(out.is_error, true);
    assert.match(out.content, /MCP server "everything" is unavailable/);
    assert.match(out.content, /exited \(code 3\)/, 'the reason of the failed restart is given');
    assert.ok(Date.now() - started >= 650 && Date.now() - started < 3000);
  } finally {
    await pool.close();
    await t.cleanup();
  }
});
