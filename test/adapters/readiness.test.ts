// The start-up handshake with real child processes: the real runtime signals once it listens;
// a child that never signals, one that dies first, and one that closes the pipe without a word.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { HealthTimeoutError, ProcessAdapter, RuntimeStartError, type PreparedDeploy } from '../../src/adapters/index.ts';
import { READY_FD, READY_FD_ENV, waitForReady } from '../../src/adapters/readiness.ts';
import { killWorkspaceRuntimes } from '../apply/support.ts';
import { echoDocument } from '../helpers/ir.ts';
import { freePort } from '../helpers/services.ts';

const CLI = fileURLToPath(new URL('../../bin/agentspec.js', import.meta.url));
const dir = mkdtempSync(path.join(os.tmpdir(), 'agentspec-ready-'));
after(async () => {
  await killWorkspaceRuntimes(dir);
  rmSync(dir, { recursive: true, force: true });
});


/** A stand-in for the runtime program: `node <script> run --ir … --port N --host H` runs `body`. */
function entry(name: string, body: string): string {
  const file = path.join(dir, `${name}.mjs`);
  writeFileSync(file, body);
  return file;
}

async function prepared(adapter: ProcessAdapter, pkg: string): Promise<PreparedDeploy> {
  return adapter.prepare({
    package: pkg,
    document: echoDocument(pkg),
    target: { name: 'local', adapter: 'process', port: await freePort(), healthPath: '/healthz' },
    stateDir: dir,
  });
}

test('the real runtime signals on the pipe once it listens: one health check then passes', { timeout: 60_000 }, async () => {
  const port = await freePort();
  const ir = path.join(dir, 'ir.json');
  writeFileSync(ir, JSON.stringify(echoDocument('ready')));
  const child = spawn(process.execPath, [CLI, 'run', '--ir', ir, '--port', String(port)], {
    stdio: ['ignore', 'ignore', 'inherit', 'pipe'],
    env: { ...process.env, [READY_FD_ENV]: String(READY_FD) },
  });
  try {
    const outcome = await waitForReady(child, { timeoutMs: 20_000 });
    assert.deepEqual(outcome, { kind: 'ready' });
    const res = await fetch(`http://127.0.0.1:${port}/healthz`);
    assert.equal(res.status, 200, 'listening when it said so');
  } finally {
    child.kill('SIGKILL');
  }
});

test('a runtime that never signals fails with the timeout error, and is stopped', { timeout: 60_000 }, async () => {
  const adapter = new ProcessAdapter({ runtimeEntry: entry('mute', 'setInterval(() => {}, 1000);\n'), stopGraceMs: 1000 });
  const p = await prepared(adapter, 'mute');
  await assert.rejects(adapter.start(p, { startTimeoutMs: 1500 }), (err: unknown) => {
    assert.ok(err instanceof HealthTimeoutError, String(err));
    assert.equal(err.signalled, false);
    assert.match(err.message, /neither signalled that it listens nor reported healthy within 2s; it was stopped/);
    return true;
  });
});

test('a runtime that dies before it is ready is reported with its exit code and last lines', { timeout: 60_000 }, async () => {
  const adapter = new ProcessAdapter({ runtimeEntry: entry('dies', "console.error('boom: no config');\nprocess.exit(3);\n") });
  const p = await prepared(adapter, 'dies');
  await assert.rejects(adapter.start(p, { startTimeoutMs: 30_000 }), (err: unknown) => {
    assert.ok(err instanceof RuntimeStartError, String(err));
    assert.match(err.message, /exited during start with exit code 3/);
    assert.match(err.message, /boom: no config/);
    return true;
  });
});

test('a runtime that closes the pipe without signalling is still found healthy by health checks', { timeout: 60_000 }, async () => {
  const script = [
    "import { closeSync } from 'node:fs';",
    "import http from 'node:http';",
    `closeSync(${READY_FD});`,
    "const port = Number(process.argv[process.argv.indexOf('--port') + 1]);",
    "http.createServer((_req, res) => res.end('ok')).listen(port, '127.0.0.1');",
    '',
  ].join('\n');
  const adapter = new ProcessAdapter({ runtimeEntry: entry('silent', script), stopGraceMs: 1000 });
  const p = await prepared(adapter, 'silent');
  const info = await adapter.start(p, { startTimeoutMs: 30_000 });
  assert.equal(info.port, p.port);
  process.kill(info.pid, 'SIGKILL');
});
