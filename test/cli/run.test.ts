import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkBindAddress, isLoopback } from '../../src/runtime/index.ts';
import { jsonLogLines, runCli } from '../helpers/cli.ts';
import { canConnect, freePort, redisUrlOrSkip } from '../helpers/services.ts';
import { openaiCompletion, startFakeLlm } from '../runtime/fake-llm.ts';
import { irDoc } from '../runtime/fixtures.ts';
import { startRunChild } from '../runtime/run-child.ts';

const SPEC = `package "run-test" version "0.1.0" lang "2.0"

prompt "system" {
  content "You are a test bot."
}

agent "bot" {
  uses prompt "system"
  model "echo"
}

agent "slow" {
  uses prompt "system"
  model "gpt-test"
}
`;

describe('agentspec run (child process)', () => {
  let dir: string;
  let spec: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'agentspec-run-'));
    spec = path.join(dir, 'agents.ias');
    await writeFile(spec, SPEC);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('prints the listening line, serves, and on SIGTERM finishes the in-flight request then exits 0', { timeout: 60_000 }, async () => {
    const fake = await startFakeLlm();
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    fake.replies.push(async () => {
      await gate;
      return openaiCompletion({ content: 'finished after SIGTERM' });
    });
    const run = await startRunChild([spec], { OPENAI_API_KEY: 'k', OPENAI_BASE_URL: fake.url }, dir);
    try {
      assert.match(run.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      const health = await fetch(`${run.url}/healthz`);
      assert.equal(health.status, 200);
      assert.equal(((await health.json()) as { agents: number }).agents, 2);
      const echo = await fetch(`${run.url}/v1/agents/bot/invoke`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"message":"hi"}' });
      assert.equal(((await echo.json()) as { output: string }).output, 'echo: hi (messages: 1)');

      const inFlight = fetch(`${run.url}/v1/agents/slow/invoke`, { method: 'POST', headers: { 'content-type': 'application/json', connection: 'close' }, body: '{"message":"take your time"}' });
      while (fake.requests.length === 0) await new Promise((r) => setTimeout(r, 10));
      run.child.kill('SIGTERM');
      // It stops accepting connections while the request is still running...
      const port = Number(new URL(run.url).port);
      while (await canConnect('127.0.0.1', port)) await new Promise((r) => setTimeout(r, 20));
      assert.equal(run.child.exitCode, null, 'still running while a request is in flight');
      // ...and the request still gets its answer.
      open();
      const res = await inFlight;
      assert.equal(res.status, 200);
      assert.equal(((await res.json()) as { output: string }).output, 'finished after SIGTERM');
      const [code, signal] = await run.exited;
      assert.equal(signal, null);
      assert.equal(code, 0);
      const logs = jsonLogLines(run.stderr());
      const listening = logs.find((l) => l.msg === 'runtime listening');
      assert.equal(listening?.host, '127.0.0.1');
      assert.equal(listening?.port, port);
      assert.deepEqual(listening?.agents, ['bot', 'slow']);
      assert.ok(logs.some((l) => l.msg === 'runtime stopped'));
    } finally {
      open();
      if (run.child.exitCode === null) run.child.kill('SIGKILL');
      await fake.close();
    }
  });

  test('--ir serves an IR snapshot; the default host is loopback', async () => {
    const snap = path.join(dir, 'snapshot.json');
    await writeFile(snap, JSON.stringify([irDoc({ pkg: 'snap', agents: [{ name: 'one' }, { name: 'two' }] })]));
    const run = await startRunChild(['--ir', snap, '--session-store', 'memory', '--session-ttl', '1h'], {}, dir);
    try {
      assert.match(run.url, /^http:\/\/127\.0\.0\.1:/);
      const agents = (await (await fetch(`${run.url}/v1/agents`)).json()) as { agents: Array<{ fqn: string }> };
      assert.deepEqual(agents.agents.map((a) => a.fqn), ['snap/Agent/one', 'snap/Agent/two']);
      run.child.kill('SIGINT');
      const [code] = await run.exited;
      assert.equal(code, 0);
    } finally {
      if (run.child.exitCode === null) run.child.kill('SIGKILL');
    }
  });

  test('--session-store redis: a conversation outlives a restart of the runtime', async (t) => {
    const redisUrl = await redisUrlOrSkip(t);
    if (redisUrl === undefined) return;
    const post = (url: string, p: string, body: unknown) =>
      fetch(`${url}${p}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then(
        async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> }),
      );
    let run = await startRunChild([spec, '--session-store', 'redis', '--redis-url', redisUrl], {}, dir);
    let id: string;
    try {
      const created = await post(run.url, '/v1/agents/bot/sessions', {});
      assert.equal(created.status, 201);
      id = String(created.body.session_id);
      assert.equal((await post(run.url, `/v1/agents/bot/sessions/${id}`, { message: 'remember me' })).status, 200);
      run.child.kill('SIGTERM');
      assert.equal((await run.exited)[0], 0);
    } finally {
      if (run.child.exitCode === null) run.child.kill('SIGKILL');
    }
    run = await startRunChild([spec, '--session-store', 'redis'], { REDIS_URL: redisUrl }, dir);
    try {
      const again = await post(run.url, `/v1/agents/bot/sessions/${id}`, { message: 'still there?' });
      assert.equal(again.status, 200);
      assert.equal(again.body.output, 'echo: still there? (messages: 3)');
      const del = await fetch(`${run.url}/v1/agents/bot/sessions/${id}`, { method: 'DELETE' });
      assert.equal(del.status, 204);
      run.child.kill('SIGTERM');
      assert.equal((await run.exited)[0], 0);
    } finally {
      if (run.child.exitCode === null) run.child.kill('SIGKILL');
    }
  });

  test('--env applies an environment to an IR snapshot', async () => {
    const snap = path.join(dir, 'snapshot-env.json');
    const doc = irDoc({ pkg: 'snap', agents: [{ name: 'one', model: 'echo' }] });
    doc.resources?.push({
      kind: 'Environment',
      name: 'prod',
      fqn: 'snap/Environment/prod',
      attributes: { name: 'prod', overrides: [{ resource: 'agent/one', attribute: 'model', value: 'echo-prod' }] },
      hash: 'sha256:test',
    });
    await writeFile(snap, JSON.stringify(doc));
    const run = await startRunChild(['--ir', snap, '--env', 'prod'], {}, dir);
    try {
      const agents = (await (await fetch(`${run.url}/v1/agents`)).json()) as { agents: Array<{ model: string }> };
      assert.deepEqual(agents.agents.map((a) => a.model), ['echo-prod']);
      run.child.kill('SIGTERM');
      assert.equal((await run.exited)[0], 0);
    } finally {
      if (run.child.exitCode === null) run.child.kill('SIGKILL');
    }
  });

  test('an invalid spec or snapshot is refused with its errors', async () => {
    const bad = path.join(dir, 'invalid.ias');
    await writeFile(bad, SPEC.replace('uses prompt "system"\n  model "echo"', 'uses prompt "sistem"\n  model "echo"'));
    let r = await runCli(['run', bad, '--port', '0'], { cwd: dir });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /prompt "sistem" not found/);
    const snap = path.join(dir, 'not-ir.json');
    await writeFile(snap, '{"hello": 1}');
    r = await runCli(['run', '--ir', snap, '--port', '0'], { cwd: dir });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /not a usable IR snapshot/);
  });

  test('API keys from AGENTSPEC_API_KEYS and --api-key', async () => {
    const run = await startRunChild([spec, '--api-key', 'flag-key-0123456789'], { AGENTSPEC_API_KEYS: 'env-a-0123456789,env-b-0123456789' }, dir);
    try {
      const get = (headers: Record<string, string>) => fetch(`${run.url}/v1/agents`, { headers }).then((r) => r.status);
      assert.equal(await get({}), 401);
      assert.equal(await get({ 'x-api-key': 'flag-key-0123456789' }), 200);
      assert.equal(await get({ authorization: 'Bearer env-b-0123456789' }), 200);
      assert.equal(await get({ 'x-api-key': 'env-c-0123456789' }), 401);
      run.child.kill('SIGTERM');
      assert.equal((await run.exited)[0], 0);
    } finally {
      if (run.child.exitCode === null) run.child.kill('SIGKILL');
    }
  });

  test('API keys shorter than 16 characters are refused at start-up', async () => {
    const r = await runCli(['run', spec, '--port', '0', '--api-key', 'short'], { cwd: dir, env: { AGENTSPEC_API_KEYS: '' } });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /an API key of 5 characters is too short: use at least 16/);
    assert.equal(r.stdout, '');
  });

  test('--api-key-file: keys from a file, never on the command line', async () => {
    const file = path.join(dir, 'keys.txt');
    await writeFile(file, '# runtime keys\nfile-key-one-0123456789\n\nfile-key-two-0123456789\n', { mode: 0o600 });
    const run = await startRunChild([spec, '--api-key-file', file], {}, dir);
    try {
      const get = (key: string) => fetch(`${run.url}/v1/agents`, { headers: { 'x-api-key': key } }).then((r) => r.status);
      assert.equal(await get('file-key-one-0123456789'), 200);
      assert.equal(await get('file-key-two-0123456789'), 200);
      assert.equal(await get('# runtime keys'), 401);
      const cmdline = await readFile(`/proc/${run.child.pid}/cmdline`, 'utf8');
      assert.doesNotMatch(cmdline, /file-key/);
      run.child.kill('SIGTERM');
      assert.equal((await run.exited)[0], 0);
    } finally {
      if (run.child.exitCode === null) run.child.kill('SIGKILL');
    }
  });

  test('limits from flags and AGENTSPEC_* variables; a bad value is a usage error', async () => {
    const run = await startRunChild([spec, '--max-metadata-keys', '1', '--trust-proxy', '1', '--rate-limit', '2'], { AGENTSPEC_MAX_MESSAGE_BYTES: '10' }, dir);
    try {
      const post = (p: string, body: unknown, client: string) =>
        fetch(`${run.url}${p}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': client }, body: JSON.stringify(body) }).then(
          async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> }),
        );
      const meta = await post('/v1/agents/bot/sessions', { metadata: { a: '1', b: '2' } }, '198.51.100.1');
      assert.equal(meta.status, 413);
      assert.match(String(meta.body.message), /--max-metadata-keys/);
      const msg = await post('/v1/agents/bot/invoke', { message: 'eleven byte' }, '198.51.100.1');
      assert.equal(msg.status, 413);
      assert.match(String(msg.body.message), /limit of 10 \(maxMessageBytes/);
      // --trust-proxy 1: the rate limit counts the forwarded client, not the proxy.
      assert.equal((await post('/v1/agents/bot/invoke', { message: 'hi' }, '198.51.100.1')).status, 429);
      assert.equal((await post('/v1/agents/bot/invoke', { message: 'hi' }, '198.51.100.2')).status, 200);
      run.child.kill('SIGTERM');
      assert.equal((await run.exited)[0], 0);
    } finally {
      if (run.child.exitCode === null) run.child.kill('SIGKILL');
    }
    let r = await runCli(['run', spec, '--port', '0', '--max-message-bytes', 'lots'], { cwd: dir });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--max-message-bytes: "lots" is not a whole number/);
    r = await runCli(['run', spec, '--port', '0'], { cwd: dir, env: { AGENTSPEC_REQUEST_TIMEOUT: 'soon' } });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /AGENTSPEC_REQUEST_TIMEOUT: invalid duration/);
  });

  test('refuses a non-loopback address without API keys', async () => {
    const r = await runCli(['run', spec, '--host', '0.0.0.0', '--port', '0'], { cwd: dir, env: { AGENTSPEC_API_KEYS: '' } });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /refusing to listen on 0\.0\.0\.0 without API keys/);
    assert.match(r.stderr, /--no-auth/);
    assert.equal(r.stdout, '');
  });

  test('the bind policy: loopback always; elsewhere only with keys or --no-auth', () => {
    for (const h of ['127.0.0.1', 'localhost', '::1', '127.1.2.3', '[::1]']) assert.ok(isLoopback(h), h);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.1']) assert.ok(!isLoopback(h), h);
    assert.throws(() => checkBindAddress('0.0.0.0', false, false), /refusing/);
    assert.doesNotThrow(() => checkBindAddress('0.0.0.0', true, false));
    assert.doesNotThrow(() => checkBindAddress('0.0.0.0', false, true));
  });

  test('a busy port is a clear EADDRINUSE error and exit 1, not a hang', async () => {
    const port = await freePort();
    const blocker = net.createServer();
    blocker.listen(port, '127.0.0.1');
    await once(blocker, 'listening');
    try {
      const r = await runCli(['run', spec, '--port', String(port)], { cwd: dir, timeoutMs: 30_000 });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /EADDRINUSE/);
      assert.match(r.stderr, new RegExp(`127\\.0\\.0\\.1:${port}`));
    } finally {
      blocker.close();
      await once(blocker, 'close');
    }
  });

  test('an unknown model prefix fails at startup', async () => {
    const bad = path.join(dir, 'bad-model.ias');
    await writeFile(bad, SPEC.replace('model "echo"', 'model "llama-3"'));
    const r = await runCli(['run', bad, '--port', '0'], { cwd: dir });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /unknown model "llama-3"/);
  });

  test('usage errors: nothing to serve, bad port', async () => {
    let r = await runCli(['run'], { cwd: dir });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /nothing to serve/);
    r = await runCli(['run', spec, '--port', '70000'], { cwd: dir });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--port/);
  });
});
