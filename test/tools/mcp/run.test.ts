// MCP skills end to end: a real `agentspec run` child process, real MCP servers as its children,
// the echo model's `/tool` and fake Anthropic/OpenAI servers speaking their tool-call wire formats.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CLI, jsonLogLines } from '../../helpers/cli.ts';
import { anthropicMessage, openaiCompletion, startFakeLlm, type FakeLlm } from '../../runtime/fake-llm.ts';
import { alive, EVERYTHING, FILESYSTEM, NODE, processesWith, q, tempDir, waitFor } from './helpers.ts';

function spec(marker: string, filesRoot: string): string {
  return `package "mcp-run" version "0.1.0" lang "2.0"

prompt "system" {
  content "You use tools."
}

server "everything" {
  transport "stdio"
  command ${q(NODE)}
  args [${q(EVERYTHING)}, "stdio", ${q(marker)}]
}

server "files" {
  transport "stdio"
  command ${q(NODE)}
  args [${q(FILESYSTEM)}, ${q(filesRoot)}]
}

client "everything-client" {
  connects to server "everything"
}

skill "say" {
  description "Say the message back"
  input {
    message string required
  }
  output {
    text string
  }
  tool mcp "everything/echo"
}

skill "read-file" {
  description "Read a text file"
  input {
    path string required
  }
  output {
    content string
  }
  tool mcp "files/read_text_file"
}

agent "local" {
  uses prompt "system"
  uses skill "say"
  uses skill "read-file"
  model "echo"
}

agent "claude" {
  uses prompt "system"
  uses skill "say"
  model "claude-test"
}

agent "gpt" {
  uses prompt "system"
  model "gpt-test"
  connects to client "everything-client"
}
`;
}

interface Running {
  child: ChildProcessWithoutNullStreams;
  url: string;
  stderr: () => string;
  exited: Promise<[number | null, NodeJS.Signals | null]>;
}

async function startRun(file: string, env: NodeJS.ProcessEnv, cwd: string): Promise<Running> {
  const child = spawn(NODE, [CLI, '--log-format', 'json', '--log-level', 'info', 'run', file, '--port', '0'], {
    cwd,
    env: { ...process.env, NO_COLOR: '1', AGENTSPEC_API_KEYS: '', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  let code: number | null | undefined;
  exited.then(
    ([c]) => (code = c),
    (err: unknown) => console.error('run child', err),
  );
  const url = await waitFor(
    'the listening line',
    () => {
      if (code !== undefined) throw new Error(`agentspec run exited ${String(code)} before listening:\n${stderr}`);
      return /^listening on (http:\/\/\S+)$/m.exec(stdout)?.[1];
    },
    60_000,
  );
  return { child, url, stderr: () => stderr, exited };
}

async function post(url: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('MCP skills through agentspec run', () => {
  let fake: FakeLlm;
  let run: Running;
  let marker: string;
  let cleanup: () => Promise<void>;
  let filesRoot: string;
  let cleanupFiles: () => Promise<void>;

  before(async () => {
    const t = await tempDir('mcp-run');
    const f = await tempDir('mcp-run-files');
    marker = t.dir;
    cleanup = t.cleanup;
    filesRoot = f.dir;
    cleanupFiles = f.cleanup;
    await writeFile(path.join(filesRoot, 'hello.txt'), 'hello from a file\n');
    const file = path.join(t.dir, 'agents.ias');
    await writeFile(file, spec(marker, filesRoot));
    fake = await startFakeLlm();
    run = await startRun(file, { ANTHROPIC_API_KEY: 'k', ANTHROPIC_BASE_URL: fake.url, OPENAI_API_KEY: 'k', OPENAI_BASE_URL: fake.url }, t.dir);
  });

  after(async () => {
    if (run.child.exitCode === null && run.child.signalCode === null) {
      run.child.kill('SIGKILL');
      await run.exited;
    }
    await fake.close();
    await cleanup();
    await cleanupFiles();
  });

  test('echo: `/tool SKILL {json}` calls an MCP skill and answers with its result', async () => {
    const r = await post(`${run.url}/v1/agents/local/invoke`, { message: '/tool say {"message":"no key needed"}' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.output, 'Echo: no key needed');
    const file = await post(`${run.url}/v1/agents/local/invoke`, { message: `/tool read-file {"path":${JSON.stringify(path.join(filesRoot, 'hello.txt'))}}` });
    assert.equal(file.body.output, 'hello from a file\n');
    const bad = await post(`${run.url}/v1/agents/local/invoke`, { message: '/tool say {"message":1}' });
    assert.match(String(bad.body.output), /tool error: invalid arguments for tool "say": input\/message must be string/);
  });

  test('Anthropic: a tool_use of an MCP skill is executed and its result goes back as tool_result', async () => {
    fake.requests.length = 0;
    fake.replies.length = 0;
    fake.replies.push(
      anthropicMessage([{ type: 'tool_use', id: 'tu_mcp', name: 'say', input: { message: 'from claude' } }], undefined, 'tool_use'),
      anthropicMessage([{ type: 'text', text: 'The server said it.' }]),
    );
    const r = await post(`${run.url}/v1/agents/claude/invoke`, { message: 'use the tool' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.output, 'The server said it.');
    const tools = fake.requests[0]?.body.tools as Array<{ name: string; input_schema: { required?: string[] } }>;
    assert.deepEqual(tools.map((x) => x.name), ['say']);
    assert.deepEqual(tools[0]?.input_schema.required, ['message']);
    const second = fake.requests[1]?.body.messages as Array<{ role: string; content: unknown }>;
    assert.deepEqual(second.at(-1), { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'tu_mcp', content: 'Echo: from claude' }] });
  });

  test("OpenAI: the client's server tools are offered and a tool_calls entry runs one of them", async () => {
    fake.requests.length = 0;
    fake.replies.length = 0;
    fake.replies.push(
      openaiCompletion({ content: null, tool_calls: [{ id: 'call_sum', type: 'function', function: { name: 'get-sum', arguments: '{"a":20,"b":22}' } }] }, undefined, 'tool_calls'),
      openaiCompletion({ content: 'It is 42.' }),
    );
    const r = await post(`${run.url}/v1/agents/gpt/invoke`, { message: 'add them' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.output, 'It is 42.');
    const offered = (fake.requests[0]?.body.tools as Array<{ function: { name: string } }>).map((x) => x.function.name);
    for (const n of ['echo', 'get-sum', 'trigger-long-running-operation']) assert.ok(offered.includes(n), `${n} offered: ${offered.join(', ')}`);
    const back = (fake.requests[1]?.body.messages as Array<Record<string, unknown>>).at(-1);
    assert.equal(back?.role, 'tool');
    assert.equal(back?.tool_call_id, 'call_sum');
    assert.match(String(back?.content), /42/);

    const lines = jsonLogLines(run.stderr()).filter((l) => l.kind === 'mcp' && l.level === 30);
    const sum = lines.filter((l) => l.skill === 'get-sum');
    assert.equal(sum.length, 1, 'one INFO line per MCP tool execution');
    assert.equal(sum[0]?.agent, 'gpt');
    assert.equal(sum[0]?.outcome, 'ok');
    assert.ok(!run.stderr().includes('"a":20'), 'argument values are not logged');
  });

  test('the runtime SIGKILLed leaves no MCP server behind', async () => {
    const servers = (await processesWith(marker)).filter((p) => p !== run.child.pid);
    // everything: guard + server; files: guard + server (its marker is the files root, below).
    assert.equal(servers.length, 2, `processes: ${servers.join(' ')}`);
    const fileServers = await processesWith(filesRoot);
    assert.equal(fileServers.length, 2);
    run.child.kill('SIGKILL');
    await run.exited;
    const every = [...servers, ...fileServers];
    await waitFor(
      `MCP processes ${every.join(' ')} to be gone`,
      async () => {
        for (const pid of every) if (await alive(pid)) return undefined;
        return (await processesWith(marker)).length === 0 && (await processesWith(filesRoot)).length === 0 ? true : undefined;
      },
      10_000,
    );
  });
});

test('agentspec run stopped with SIGTERM stops its MCP servers before it exits', async () => {
  const t = await tempDir('mcp-run-term');
  const f = await tempDir('mcp-run-term-files');
  try {
    const file = path.join(t.dir, 'agents.ias');
    await writeFile(file, spec(t.dir, f.dir));
    const run = await startRun(file, {}, t.dir);
    const r = await post(`${run.url}/v1/agents/local/invoke`, { message: '/tool say {"message":"before stop"}' });
    assert.equal(r.body.output, 'Echo: before stop');
    assert.equal((await processesWith(f.dir)).length, 2);
    run.child.kill('SIGTERM');
    const [code] = await run.exited;
    assert.equal(code, 0, run.stderr());
    assert.deepEqual((await processesWith(t.dir)).filter((p) => p !== run.child.pid), []);
    assert.deepEqual(await processesWith(f.dir), []);
  } finally {
    await t.cleanup();
    await f.cleanup();
  }
});

test('agentspec run refuses to start when a required MCP server does not start, naming it', async () => {
  const t = await tempDir('mcp-run-fail');
  try {
    const file = path.join(t.dir, 'agents.ias');
    await writeFile(file, spec(t.dir, t.dir).replace(`command ${q(NODE)}\n  args [${q(FILESYSTEM)}`, `command "no-such-mcp-server"\n  args [${q(FILESYSTEM)}`));
    const child = spawn(NODE, [CLI, 'run', file, '--port', '0'], { cwd: t.dir, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 1, stderr);
    assert.match(stderr, /MCP server "files" failed to start: command "no-such-mcp-server" not found on PATH/);
    assert.deepEqual((await processesWith(t.dir)).length, 0, 'the server that did start was stopped');
  } finally {
    await t.cleanup();
  }
});
