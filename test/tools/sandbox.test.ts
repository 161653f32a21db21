import net from 'node:net';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSandbox, probeBwrap, SandboxUnavailableError } from '../../src/tools/index.ts';
import { findOnPath } from '../../src/tools/path.ts';
import { ctx, skillDoc, toolsOf } from './helpers.ts';

const bwrap = findOnPath('bwrap', process.env.PATH);
const problem = bwrap === undefined ? 'bwrap is not installed' : probeBwrap(bwrap);
// Under CI the sandbox is installed by .ci/run: if it cannot run, these tests fail rather than skip.
const skip = problem !== undefined && process.env.CI !== 'true' ? `bubblewrap unusable here: ${problem}` : false;

describe('bubblewrap sandbox (real bwrap)', { skip }, () => {
  test('bwrap works here', () => {
    assert.equal(problem, undefined);
    assert.equal(createSandbox('required', process.env).active, true);
  });

  test('no network inside: connecting to a loopback listener fails', async () => {
    const server = net.createServer((s) => s.end('hello'));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as net.AddressInfo).port;
    try {
      const code = `import socket\ns = socket.socket()\ns.settimeout(2)\ntry:\n    s.connect(("127.0.0.1", ${port}))\n    print("connected", s.recv(5))\nexcept OSError as e:\n    print("refused", e.errno)\n`;
      const doc = skillDoc({ net: { tool: { type: 'inline', language: 'python', code } } });
      const sandboxed = await toolsOf(doc, { sandbox: 'required' });
      const open = await toolsOf(doc, { sandbox: 'off' });
      try {
        const inside = await sandboxed.tool('net').call({}, ctx());
        assert.match(inside.content, /^refused/, inside.content);
        // The same code outside the sandbox reaches the listener: the sandbox is what stopped it.
        const outside = await open.tool('net').call({}, ctx());
        assert.match(outside.content, /^connected b'hello'/, outside.content);
      } finally {
        await sandboxed.set.close();
        await open.set.close();
      }
    } finally {
      server.close();
    }
  });

  test('read-only root: writing outside the temp dir fails, inside it works', async () => {
    const doc = skillDoc({
      write: { tool: { type: 'command', binary: 'sh', args: ['-c', 'echo x > "$HOME/.agentspec-sandbox-probe" 2>&1 && echo home-written; echo y > ./inside && cat ./inside; touch /usr/agentspec-probe 2>&1 || echo usr-refused'] } },
    });
    const { set, tool } = await toolsOf(doc, { sandbox: 'required', env: { ...process.env, HOME: '/root' } });
    try {
      const o = await tool('write').call({}, ctx());
      assert.doesNotMatch(o.content, /home-written/);
      assert.match(o.content, /^y$/m);
      assert.match(o.content, /Read-only file system[\s\S]*usr-refused/);
    } finally {
      await set.close();
    }
  });

  test('the process namespace is private: the tool sees only its own processes', async () => {
    const doc = skillDoc({ ps: { tool: { type: 'command', binary: 'sh', args: ['-c', 'ls /proc | grep -c "^[0-9]"'] } } });
    const { set, tool } = await toolsOf(doc, { sandbox: 'required' });
    try {
      const o = await tool('ps').call({}, ctx());
      assert.ok(Number(o.content.trim()) < 6, o.content);
    } finally {
      await set.close();
    }
  });
});

describe('sandbox modes', () => {
  test('required without bwrap on PATH refuses to start; auto runs unsandboxed; off never probes', async () => {
    const env = { ...process.env, PATH: '/nonexistent' };
    assert.throws(() => createSandbox('required', env), (err: unknown) => err instanceof SandboxUnavailableError && /bwrap is not installed/.test(err.message));
    const auto = createSandbox('auto', env);
    assert.equal(auto.active, false);
    assert.deepEqual(auto.wrap(['/bin/true'], '/tmp'), ['/bin/true']);
    assert.equal(createSandbox('off', process.env).active, false);
  });
});
