import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { ServerProcess } from '../../../src/tools/mcp/index.ts';
import type { ToolOutcome } from '../../../src/tools/types.ts';
import { jsonLogLines } from '../../helpers/cli.ts';
import { alive, EVERYTHING, FILESYSTEM, NODE, processesWith, q, tempDir, waitFor } from './helpers.ts';

const HOLDER = fileURLToPath(new URL('./fixtures/hold-pool.ts', import.meta.url));
// A wrapper command (like npx or a shell script) whose child is the real server: the server is
// then a grandchild of the runtime, which a parent-death signal alone would not reach.
const WRAPPER = "const c = require('node:child_process').spawn(process.execPath, process.argv.slice(1), { stdio: 'inherit' }); c.on('exit', (code) => process.exit(code ?? 1));";

function spec(marker: string): string {
  return `package "t" version "0.1.0" lang "2.0"
prompt "p" {
  content "x"
}
server "direct" {
  transport "stdio"
  command ${q(NODE)}
  args [${q(EVERYTHING)}, "stdio", ${q(marker)}]
}
server "wrapped" {
  transport "stdio"
  command ${q(NODE)}
  args ["-e", ${q(WRAPPER)}, ${q(EVERYTHING)}, "stdio", ${q(marker)}]
}
server "files" {
  transport "stdio"
  command ${q(NODE)}
  args [${q(FILESYSTEM)}, ${q(marker)}]
}
client "all" {
  connects to server "direct"
  connects to server "wrapped"
  connects to server "files"
}
skill "say" {
  description "Say"
  input {
    message string required
  }
  output {
    text string
  }
  tool mcp "direct/echo"
}
agent "bot" {
  uses prompt "p"
  uses skill "say"
  model "echo"
  connects to client "all"
}
`;
}

interface Held {
  pid: number;
  processes: ServerProcess[];
  outcome: ToolOutcome;
  stderr: () => string;
  exited: Promise<[number | null, NodeJS.Signals | null]>;
}

async function hold(dir: string): Promise<Held> {
  const file = path.join(dir, 'spec.ias');
  await writeFile(file, spec(dir));
  const child = spawn(NODE, ['--import', 'tsx', HOLDER, file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const line = await waitFor(`the holder's report (stderr: ${stderr})`, () => (stdout.includes('\n') ? stdout.split('\n')[0] : undefined), 30_000);
  const report = JSON.parse(line ?? '') as { processes: ServerProcess[]; outcome: ToolOutcome };
  assert.ok(child.pid !== undefined);
  return { pid: child.pid, ...report, stderr: () => stderr, exited };
}

function pidsOf(procs: ServerProcess[]): number[] {
  return procs.flatMap((p) => [p.pid, ...(p.serverPid === undefined ? [] : [p.serverPid])]);
}

test('a runtime SIGKILLed leaves no MCP server behind, grandchildren of wrapper commands included', async () => {
  const t = await tempDir('mcp-orphans-kill');
  try {
    const held = await hold(t.dir);
    assert.equal(held.processes.length, 3);
    const before = (await processesWith(t.dir)).filter((p) => p !== held.pid);
    // 3 guards, 3 servers, and the wrapped server's own child.
    assert.equal(before.length, 7, `processes carrying the marker: ${before.join(' ')}`);
    for (const pid of pidsOf(held.processes)) assert.equal(await alive(pid), true);

    process.kill(held.pid, 'SIGKILL');
    await held.exited;
    // A process being torn down has an empty command line before it is reaped: wait on both.
    const everyPid = [...new Set([...pidsOf(held.processes), ...before])];
    const gone = async (): Promise<true | undefined> => {
      if ((await processesWith(t.dir)).length > 0) return undefined;
      for (const pid of everyPid) if (await alive(pid)) return undefined;
      return true;
    };
    await waitFor(`every MCP process (${everyPid.join(' ')}) to be gone`, gone, 10_000);
  } finally {
    await t.cleanup();
  }
});

test('a runtime stopped with SIGTERM stops its servers, and each call was logged as one structured line without its arguments', async () => {
  const t = await tempDir('mcp-orphans-term');
  try {
    const held = await hold(t.dir);
    assert.deepEqual(held.outcome, { content: 'Echo: from the holder', is_error: false, truncated: false, bytes: 21 });
    const before = (await processesWith(t.dir)).filter((p) => p !== held.pid);
    assert.equal(before.length, 7);
    process.kill(held.pid, 'SIGTERM');
    const [code] = await held.exited;
    assert.equal(code, 0, held.stderr());
    // close() waited for the servers: nothing is left the moment the runtime has exited.
    assert.deepEqual(await processesWith(t.dir), []);

    const calls = jsonLogLines(held.stderr()).filter((l) => l.msg === 'MCP tool call');
    assert.equal(calls.length, 1);
    const [call] = calls;
    assert.equal(call?.agent, 'holder');
    assert.equal(call?.session, 'sess_hold');
    assert.equal(call?.skill, 'say');
    assert.equal(call?.kind, 'mcp');
    assert.equal(call?.outcome, 'ok');
    assert.equal(call?.bytes, 21);
    assert.equal(call?.truncated, false);
    assert.equal(typeof call?.duration_ms, 'number');
    assert.ok(!held.stderr().includes('from the holder'), 'argument values are not logged');
    const started = jsonLogLines(held.stderr()).filter((l) => l.msg === 'MCP server started');
    assert.deepEqual(started.map((l) => l.server).sort(), ['direct', 'files', 'wrapped']);
  } finally {
    await t.cleanup();
  }
});
