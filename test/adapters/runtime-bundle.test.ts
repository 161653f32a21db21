// The runtime `apply` starts is dist/runtime.cjs: a loader that runs dist/runtime-bundle.cjs, the
// CLI bundled into one file by the build, with the V8 code cache the build's warm-up start wrote.
// The bundle leaves the Redis, PostgreSQL and MCP clients out (they load from node_modules when a
// runtime uses them): this runs it with all three kinds of part a runtime can need.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import Module from 'node:module';
import path from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';
import { createClient } from 'redis';
import { ProcessAdapter } from '../../src/adapters/index.ts';
import { VERSION } from '../../src/version.ts';
import { echoDocument } from '../helpers/ir.ts';
import { freePort, redisUrlOrSkip } from '../helpers/services.ts';
import { EVERYTHING, NODE, q, tempDir, waitFor } from '../tools/mcp/helpers.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const LOADER = path.join(ROOT, 'dist', 'runtime.cjs');
const BUNDLE = path.join(ROOT, 'dist', 'runtime-bundle.cjs');
const CACHE = path.join(ROOT, 'dist', 'runtime-bundle.cache');

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

test('the build writes a code cache that this Node accepts for the bundle', () => {
  assert.ok(statSync(BUNDLE).size > 0, 'npm run build wrote dist/runtime-bundle.cjs');
  // What the loader does: a cache V8 rejected would silently cost the whole compile again.
  const script = new vm.Script(Module.wrap(readFileSync(BUNDLE, 'utf8')), { filename: BUNDLE, cachedData: readFileSync(CACHE) });
  assert.equal(script.cachedDataRejected, false, 'V8 accepts dist/runtime-bundle.cache');
});

test('without its code cache, or with one V8 rejects, the loader still starts the bundle', () => {
  // A copy of dist/ beside package.json (the bundle finds the version by walking up) and below
  // node_modules (its externals resolve from there).
  const dir = mkdtempSync(path.join(ROOT, '.bundle-test-'));
  try {
    mkdirSync(path.join(dir, 'dist'));
    copyFileSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
    copyFileSync(LOADER, path.join(dir, 'dist', 'runtime.cjs'));
    copyFileSync(BUNDLE, path.join(dir, 'dist', 'runtime-bundle.cjs'));
    const version = (): ReturnType<typeof spawnSync> => spawnSync(NODE, [path.join(dir, 'dist', 'runtime.cjs'), '--version'], { encoding: 'utf8' });
    const missing = version();
    assert.equal(missing.status, 0, String(missing.stderr));
    assert.equal(String(missing.stdout).trim(), VERSION);
    assert.equal(String(missing.stderr), '', 'a missing cache is not worth a word');
    writeFileSync(path.join(dir, 'dist', 'runtime-bundle.cache'), 'not a code cache');
    const rejected = version();
    assert.equal(rejected.status, 0, String(rejected.stderr));
    assert.equal(String(rejected.stdout).trim(), VERSION);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the process adapter starts runtimes from dist/runtime.cjs', async () => {
  const t = await tempDir('bundle-apply');
  const adapter = new ProcessAdapter({ stopGraceMs: 2000 });
  try {
    const prepared = await adapter.prepare({
      package: 'bundled',
      document: echoDocument('bundled'),
      target: { name: 'local', adapter: 'process', port: await freePort(), healthPath: '/healthz' },
      stateDir: t.dir,
    });
    const info = await adapter.start(prepared);
    const pid = Number(info.pid);
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    assert.equal(argv[1], LOADER, `the runtime runs the bundle's loader: ${argv.join(' ')}`);
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
  const child = spawn(NODE, [LOADER, '--log-format', 'json', 'run', file, '--port', '0', '--session-store', 'redis', '--redis-url', redisUrl], {
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
