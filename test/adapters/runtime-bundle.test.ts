// The runtime `apply` starts is dist/runtime.cjs, the CLI bundled into one file by the build. The
// bundle leaves the Redis, PostgreSQL and MCP clients out (they load from node_modules when a
// runtime uses them): this runs the bundle with all three kinds of part a runtime can need.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { createClient } from 'redis';
import { ProcessAdapter } from '../../src/adapters/index.ts';
import { VERSION } from '../../src/version.ts';
import { freePort, redisUrlOrSkip } from '../helpers/services.ts';
import { EVERYTHING, NODE, q, tempDir, waitFor } from '../tools/mcp/helpers.ts';

const BUNDLE = fileURLToPath(new URL('../../dist/runtime.cjs', import.meta.url));

function spec(marker: string): string {
  return `package "bundled" version "0.1.0" lang "2.0"

prompt "system" {
  content "You use tools."
}

server "everything" {
  transport "stdio"
  command ${q(NODE)}
  args [${q(EVERYTHING)}, "stdio", ${q(marker)}]
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

agent "local" {
  uses prompt "system"
  uses skill "say"
  model "echo"
}

deploy "local" target "process" {
  port 1
}
`;
}

async function post(url: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

test('the build makes dist/runtime.cjs, and the process adapter starts runtimes from it', async () => {
  assert.ok(statSync(BUNDLE).size > 0, 'npm run build wrote dist/runtime.cjs');
  const t = await tempDir('bundle-apply');
  const adapter = new ProcessAdapter({ stopGraceMs: 2000 });
  try {
    const prepared = await adapter.prepare({
      package: 'bundled',
      document: {
        ir_version: '1.0',
        lang_version: '2.0',
        package: { name: 'bundled', version: '0.1.0' },
        resources: [
          { kind: 'Prompt', name: 'p', fqn: 'bundled/Prompt/p', attributes: { content: 'hi' }, hash: 'sha256:x' },
          { kind: 'Agent', name: 'a', fqn: 'bundled/Agent/a', attributes: { model: 'echo', prompt: 'p' }, hash: 'sha256:y' },
        ],
      },
      target: { name: 'local', adapter: 'process', port: await freePort(), healthPath: '/healthz' },
      stateDir: t.dir,
    });
    const info = await adapter.start(prepared);
    const pid = Number(info.pid);
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    assert.equal(argv[1], BUNDLE, `the runtime runs the bundle: ${argv.join(' ')}`);
    const health = (await (await fetch(`${prepared.endpoint}/healthz`)).json()) as { version?: string };
    assert.equal(health.version, VERSION, 'the bundle finds package.json (its version) from dist/');
    const answer = await post(`${prepared.endpoint}/v1/agents/a/invoke`, { message: 'hello' });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    await adapter.stop('bundled', t.dir, [pid]);
  } finally {
    await t.cleanup();
  }
});

test('the bundle serves an MCP skill and keeps its sessions in Redis (clients loaded from node_modules)', async (t) => {
  const redisUrl = await redisUrlOrSkip(t);
  if (redisUrl === undefined) return;
  const dir = await tempDir('bundle-run');
  const file = path.join(dir.dir, 'agents.ias');
  await writeFile(file, spec(dir.dir));
  const child = spawn(NODE, [BUNDLE, '--log-format', 'json', 'run', file, '--port', '0', '--session-store', 'redis', '--redis-url', redisUrl], {
    cwd: dir.dir,
    env: { ...process.env, NO_COLOR: '1', AGENTSPEC_API_KEYS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = once(child, 'exit');
  const redis = createClient({ url: redisUrl });
  await redis.connect();
  try {
    const url = await waitFor(
      'the listening line',
      () => {
        if (child.exitCode !== null) throw new Error(`the bundle exited ${child.exitCode} before listening:\n${stderr}`);
        return /^listening on (http:\/\/\S+)$/m.exec(stdout)?.[1];
      },
      60_000,
    );
    const tool = await post(`${url}/v1/agents/local/invoke`, { message: '/tool say {"message":"through the bundle"}' });
    assert.equal(tool.status, 200, JSON.stringify(tool.body));
    assert.equal(tool.body.output, 'Echo: through the bundle');

    const created = await post(`${url}/v1/agents/local/sessions`, {});
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = String(created.body.session_id);
    const turn = await post(`${url}/v1/agents/local/sessions/${id}`, { message: 'remember me' });
    assert.equal(turn.status, 200, JSON.stringify(turn.body));
    const keys = await redis.keys(`*${id}*`);
    assert.ok(keys.length > 0, `the session is in Redis (keys for ${id})`);
  } finally {
    child.kill('SIGTERM');
    await exited;
    await redis.quit();
    await dir.cleanup();
  }
});
