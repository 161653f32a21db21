import { readFileSync, existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile, chmod } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ToolConfigError, REDACTED, type ToolSet } from '../../src/tools/index.ts';
import { ctx, secretResource, skillDoc, toolsOf } from './helpers.ts';

/** Whether a process with this pid still runs (a zombie nobody reaped yet is dead). */
function alive(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}

describe('command tools (real child processes, sandbox off)', () => {
  let dir: string;
  let set: ToolSet;
  let tool: Awaited<ReturnType<typeof toolsOf>>['tool'];
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'agentspec-cmd-test-'));
    const script = path.join(dir, 'spawner.sh');
    // Starts a grandchild that would outlive the call unless the whole group is killed.
    await writeFile(script, `#!/bin/sh\nsleep 60 &\necho $! > "${dir}/grandchild.pid"\nsleep 60\n`);
    await chmod(script, 0o755);
    process.env.AGENTSPEC_TEST_LEAK = 'must-not-leak';
    process.env.TOOL_SECRET_VALUE = 's3cr3t-value-1234';
    const doc = skillDoc(
      {
        argv: { input: [{ name: 'q', type: 'string', required: true }], tool: { type: 'command', binary: 'printf', args: ['[%s]\\n', '{{q}}', 'x-{{q}}'] } },
        stdin: { input: [{ name: 'n', type: 'int' }], tool: { type: 'command', binary: 'cat' } },
        env: { tool: { type: 'command', binary: 'env', env: { GREETING: 'hi' }, secrets: { API_TOKEN: 'token' } } },
        fail: { tool: { type: 'command', binary: 'sh', args: ['-c', 'echo "bad token $API_TOKEN" >&2; exit 3'], secrets: { API_TOKEN: 'token' } } },
        slow: { tool: { type: 'command', binary: script, timeout: '300ms' } },
        loud: { tool: { type: 'command', binary: 'yes' } },
      },
      [secretResource('token', 'env', 'TOOL_SECRET_VALUE')],
    );
    ({ set, tool } = await toolsOf(doc, { sandbox: 'off', outputCap: 1000 }));
  });
  after(async () => {
    delete process.env.AGENTSPEC_TEST_LEAK;
    delete process.env.TOOL_SECRET_VALUE;
    await set.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('{{field}} is one whole argv element: spaces and shell characters stay data', async () => {
    const o = await tool('argv').call({ q: 'a b; rm -rf / $(id)' }, ctx());
    assert.equal(o.is_error, false, o.content);
    assert.equal(o.content, '[a b; rm -rf / $(id)]\n[x-a b; rm -rf / $(id)]\n');
  });

  test('the input JSON arrives on stdin', async () => {
    const o = await tool('stdin').call({ n: 42 }, ctx());
    assert.deepEqual(JSON.parse(o.content), { n: 42 });
  });

  test('environment: PATH/HOME/locale plus the skill env and secrets, nothing else of the runtime', async () => {
    const o = await tool('env').call({}, ctx());
    const vars = new Map(o.content.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    assert.equal(vars.get('GREETING'), 'hi');
    assert.ok(vars.has('PATH'));
    assert.equal(vars.has('AGENTSPEC_TEST_LEAK'), false);
    assert.equal(vars.has('TOOL_SECRET_VALUE'), false);
    assert.deepEqual([...vars.keys()].filter((k) => !['PATH', 'HOME', 'LANG', 'LANGUAGE', 'TZ', 'GREETING', 'API_TOKEN', 'PWD', 'SHLVL', '_'].includes(k) && !k.startsWith('LC_')), []);
    // The secret reached the tool, but its value never reaches the model.
    assert.equal(vars.get('API_TOKEN'), REDACTED);
  });

  test('non-zero exit is a tool error with stderr, and secret values are redacted from it', async () => {
    const o = await tool('fail').call({}, ctx());
    assert.equal(o.is_error, true);
    assert.match(o.content, /exited with code 3/);
    assert.match(o.content, /bad token \[REDACTED\]/);
    assert.ok(!o.content.includes('s3cr3t-value-1234'));
  });

  test('timeout kills the whole process group (no grandchild survives)', async () => {
    const o = await tool('slow').call({}, ctx());
    assert.equal(o.is_error, true);
    assert.match(o.content, /timed out after 300ms/);
    const pid = Number(readFileSync(path.join(dir, 'grandchild.pid'), 'utf8'));
    assert.ok(pid > 0);
    for (let i = 0; i < 50 && alive(pid); i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(alive(pid), false, `grandchild ${pid} outlived the call`);
  });

  test('output over the cap is cut, marked, and the process stopped', async () => {
    const o = await tool('loud').call({}, ctx());
    assert.equal(o.is_error, false);
    assert.equal(o.truncated, true);
    assert.ok(o.bytes > 1000);
    assert.match(o.content, /\[output truncated: \d+ bytes, first 1000 shown\]$/);
    assert.equal(o.content.split('\n').filter((l) => l === 'y').length, 500);
  });

  test('an aborted call rejects and its process is gone', async () => {
    const ac = new AbortController();
    const p = tool('slow').call({}, ctx(ac.signal));
    setTimeout(() => ac.abort(new Error('client left')), 50);
    await assert.rejects(p, /client left/);
  });

  test('a missing binary is a start-up error naming the skill', async () => {
    const doc = skillDoc({ broken: { tool: { type: 'command', binary: 'no-such-binary-agentspec' } } });
    await assert.rejects(toolsOf(doc, { sandbox: 'off' }), (err: unknown) => {
      assert.ok(err instanceof ToolConfigError);
      assert.equal(err.skill, 'broken');
      assert.match(err.message, /skill "broken": binary "no-such-binary-agentspec" is not found on PATH/);
      return true;
    });
  });

  test('temp directories are removed after each call', async () => {
    const before = new Set((await import('node:fs')).readdirSync(os.tmpdir()).filter((n) => n.startsWith('agentspec-tool-')));
    await tool('stdin').call({ n: 1 }, ctx());
    const afterDirs = (await import('node:fs')).readdirSync(os.tmpdir()).filter((n) => n.startsWith('agentspec-tool-') && !before.has(n));
    assert.deepEqual(afterDirs.filter((n) => existsSync(path.join(os.tmpdir(), n))), []);
  });
});
