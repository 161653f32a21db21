import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CLI, jsonLogLines, runCli } from '../helpers/cli.ts';

const SECRET = 'secret-xyz-0042';

const spec = (port: number, binary = 'sh'): string => `package "run-tools" version "0.1.0" lang "2.0"

prompt "system" {
  content "You use tools."
}

secret "token" {
  env(RUN_TOOL_TOKEN)
}

skill "greet" {
  description "Greet with the token"
  input {
    name string required
  }
  output {
    text string
  }
  tool command {
    binary "${binary}"
    args ["-c", "echo hello $1 $TOKEN_VAR", "greet", "{{name}}"]
    secrets {
      TOKEN_VAR "token"
    }
  }
}

skill "calc" {
  description "Add two numbers"
  input {
    a int required
    b int required
  }
  output {
    sum int
  }
  tool inline {
    language "python"
    code "import json, sys\\nd = json.load(sys.stdin)\\nprint(d['a'] + d['b'])"
    memory "128Mi"
  }
}

skill "fetch" {
  description "Fetch a local page"
  input {
    page string required
  }
  output {
    body string
  }
  tool http {
    url "http://127.0.0.1:${port}/{{page}}"
  }
}

agent "bot" {
  uses prompt "system"
  uses skill "greet"
  uses skill "calc"
  uses skill "fetch"
  model "echo"
}
`;

interface Running {
  child: ChildProcessWithoutNullStreams;
  url: string;
  stderr: () => string;
  exited: Promise<unknown>;
}

async function startRun(args: string[], env: NodeJS.ProcessEnv): Promise<Running> {
  const child = spawn(process.execPath, [CLI, '--log-format', 'json', '--log-level', 'info', 'run', '--port', '0', ...args], {
    env: { ...process.env, NO_COLOR: '1', AGENTSPEC_API_KEYS: '', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = once(child, 'exit');
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line; stderr:\n${stderr}`)), 30_000);
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      const m = /^listening on (http:\/\/\S+)$/m.exec(stdout);
      if (m?.[1] !== undefined) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    exited.then(
      () => reject(new Error(`exited before listening; stderr:\n${stderr}`)),
      (err: unknown) => reject(err instanceof Error ? err : new Error(String(err))),
    );
  });
  return { child, url, stderr: () => stderr, exited };
}

async function post(url: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return (await res.json()) as Record<string, unknown>;
}

describe('agentspec run with skills that run (child process, echo model)', () => {
  let dir: string;
  let page: http.Server;
  let file: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'agentspec-run-tools-'));
    page = http.createServer((req, res) => res.end(`page ${req.url ?? ''}`));
    page.listen(0, '127.0.0.1');
    await once(page, 'listening');
    file = path.join(dir, 'tools.ias');
    await writeFile(file, spec((page.address() as net.AddressInfo).port));
  });
  after(async () => {
    page.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('/tool runs command, inline and http skills in the sandbox; one log line each; secrets never logged or stored', { timeout: 60_000 }, async () => {
    const run = await startRun([file, '--tool-sandbox', 'required', '--allow-private-network'], { RUN_TOOL_TOKEN: SECRET });
    try {
      const session = await post(`${run.url}/v1/agents/bot/sessions`, {});
      const id = String(session.session_id);
      const greet = await post(`${run.url}/v1/agents/bot/sessions/${id}`, { message: '/tool greet {"name": "ada lovelace"}' });
      // The tool got the secret (it printed it); the model and the session get it redacted.
      assert.equal(greet.output, 'hello ada lovelace [REDACTED]\n');
      const calc = await post(`${run.url}/v1/agents/bot/sessions/${id}`, { message: '/tool calc {"a": 2, "b": 40}' });
      assert.equal(calc.output, '42\n');
      const fetched = await post(`${run.url}/v1/agents/bot/sessions/${id}`, { message: '/tool fetch {"page": "a b"}' });
      assert.equal(fetched.output, 'page /a%20b');
      const history = await (await fetch(`${run.url}/v1/agents/bot/sessions/${id}`)).json();
      const text = JSON.stringify(history);
      assert.ok(!text.includes(SECRET), 'secret stored in the session');
      assert.equal((history as { total: number }).total, 12);
    } finally {
      run.child.kill('SIGTERM');
      await run.exited;
    }
    assert.ok(!run.stderr().includes(SECRET), 'secret in the logs');
    const lines = jsonLogLines(run.stderr()).filter((l) => l.msg === 'tool executed');
    assert.deepEqual(
      lines.map((l) => [l.skill, l.kind, l.outcome, l.agent, l.truncated]),
      [
        ['greet', 'command', 'ok', 'bot', false],
        ['calc', 'inline', 'ok', 'bot', false],
        ['fetch', 'http', 'ok', 'bot', false],
      ],
    );
    for (const l of lines) {
      assert.match(String(l.session), /^sess_/);
      assert.equal(typeof l.duration_ms, 'number');
      assert.equal(typeof l.bytes, 'number');
      assert.equal(l.input, undefined);
    }
  });

  test('without --allow-private-network the http skill is refused by the SSRF guard', { timeout: 60_000 }, async () => {
    const run = await startRun([file], { RUN_TOOL_TOKEN: SECRET, AGENTSPEC_ALLOW_PRIVATE_NETWORK: '' });
    try {
      const r = await post(`${run.url}/v1/agents/bot/invoke`, { message: '/tool fetch {"page": "x"}' });
      assert.match(String(r.output), /^tool error: refused to connect: 127\.0\.0\.1 is a loopback address/);
    } finally {
      run.child.kill('SIGTERM');
      await run.exited;
    }
  });

  test("the README's main job: examples/hello runs its skill through echo `/tool`, no key needed", { timeout: 60_000 }, async () => {
    const hello = fileURLToPath(new URL('../../examples/hello/hello.ias', import.meta.url));
    const run = await startRun([hello], {});
    try {
      const r = await post(`${run.url}/v1/agents/hello/invoke`, { message: '/tool say {"text": "hi"}' });
      assert.equal(r.output, 'you said: hi\n');
      assert.deepEqual((r.tool_calls as Array<Record<string, unknown>>).map((c) => [c.tool_name, c.output]), [['say', 'you said: hi\n']]);
    } finally {
      run.child.kill('SIGTERM');
      await run.exited;
    }
  });

  test('start-up errors: a missing secret, a missing binary, a bad --tool-sandbox', { timeout: 60_000 }, async () => {
    const noSecret = await runCli(['run', '--port', '0', file], { env: { RUN_TOOL_TOKEN: '' } });
    assert.equal(noSecret.code, 1);
    assert.match(noSecret.stderr, /secret "token": environment variable RUN_TOOL_TOKEN is not set/);
    const missing = path.join(dir, 'missing.ias');
    await writeFile(missing, spec(1, 'agentspec-no-such-binary'));
    const noBinary = await runCli(['run', '--port', '0', missing], { env: { RUN_TOOL_TOKEN: SECRET } });
    assert.equal(noBinary.code, 1);
    assert.match(noBinary.stderr, /skill "greet": binary "agentspec-no-such-binary" is not found on PATH/);
    const bad = await runCli(['run', '--port', '0', '--tool-sandbox', 'maybe', file], { env: { RUN_TOOL_TOKEN: SECRET } });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--tool-sandbox: "maybe" is not one of auto, required, off/);
  });
});
