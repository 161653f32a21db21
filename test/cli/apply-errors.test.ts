// What apply refuses to do, and how it says so: invalid specs, unsupported targets, busy ports,
// no terminal to confirm on, and an interrupt while a runtime starts.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { CLI, jsonLogLines } from '../helpers/cli.ts';
import { freePort } from '../helpers/services.ts';
import { explain, makeWorkspace, runtimesOf } from '../apply/support.ts';

const ws = makeWorkspace('agentspec-apply-errors-');
after(async () => {
  await ws.cleanup();
});

describe('apply refuses', () => {
  test('a spec with errors is never applied', async () => {
    const file = path.join(ws.dir, 'broken.ias');
    writeFileSync(file, 'package "broken" version "0.1.0" lang "2.0"\n\nagent "a" {\n  uses prompt "missing"\n  model "echo"\n}\n');
    const r = await ws.cli(['apply', '--auto-approve', file]);
    assert.equal(r.code, 1, explain(r));
    assert.match(r.stderr, /broken\.ias:\d+:\d+: error:/);
    assert.equal(existsSync(ws.stateFile), false, 'no state was written');
  });

  test('docker, compose and kubernetes targets are reported as not supported yet', async () => {
    for (const target of ['docker', 'docker-compose', 'kubernetes']) {
      const file = ws.writeSpec(`t-${target}`, 9, { target });
      const r = await ws.cli(['apply', '--auto-approve', file]);
      assert.equal(r.code, 1, explain(r));
      assert.match(r.stderr, new RegExp(`"${target}" is not supported yet`));
    }
    assert.equal(existsSync(ws.stateFile), false);
  });

  test('without a terminal and without --auto-approve it fails with a clear error instead of prompting', async () => {
    const file = ws.writeSpec('noprompt', await freePort());
    const r = await ws.cli(['apply', file]);
    assert.equal(r.code, 2, explain(r));
    assert.match(r.stderr, /stdin is not a terminal.*--auto-approve/);
    assert.deepEqual(runtimesOf(ws.dir, 'noprompt'), []);
  });

  test('a busy port is a clear error, recorded as failed, not a hang', async () => {
    const port = await freePort();
    const squatter = net.createServer();
    squatter.listen(port, '127.0.0.1');
    await once(squatter, 'listening');
    try {
      const file = ws.writeSpec('busy', port);
      const r = await ws.cli(['apply', '--auto-approve', file], { timeoutMs: 60_000 });
      assert.equal(r.code, 1, explain(r));
      assert.match(r.stdout, /^Apply failed! 0 created, 0 updated, 0 destroyed, 2 failed\.$/m);
      // Failed resources are marked as failed, never with the symbol of the change they did not make.
      assert.match(r.stdout, /^ {2}x busy\/Agent\/a0: create failed/m);
      assert.doesNotMatch(r.stdout, /\+ busy\/Agent\/a0:/);
      // The cause is said once for the package, not once per resource.
      const errors = r.stderr.split('\n').filter((l) => l.startsWith('Error:'));
      assert.equal(errors.length, 1, explain(r));
      assert.match(errors[0]!, new RegExp(`^Error: busy: .*port ${port} on 127\\.0\\.0\\.1 is already in use`));
      const entries = ws.readState().entries.filter((e) => e.fqn.startsWith('busy/'));
      assert.equal(entries.length, 2);
      assert.ok(entries.every((e) => e.status === 'failed' && /already in use/.test(e.error ?? '')));
      assert.deepEqual(runtimesOf(ws.dir, 'busy'), []);
    } finally {
      squatter.close();
    }
  });
});

test('SIGTERM while the runtime starts rolls it back, saves, releases the lock and exits non-zero', async () => {
  const port = await freePort();
  const file = ws.writeSpec('interrupted', port);
  const child = spawn(process.execPath, [CLI, '--log-format', 'json', '--log-level', 'info', '--state-file', ws.stateFile, 'apply', '--auto-approve', file], {
    cwd: ws.dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  const started = new Promise<void>((resolve) => {
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      if (stderr.includes('runtime process started')) resolve();
    });
  });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  await Promise.race([started, exited]);
  child.kill('SIGTERM');
  const [code] = await exited;
  const detail = `exit ${String(code)}\nstdout:\n${stdout}\nstderr:\n${stderr}`;
  assert.equal(code, 1, detail);
  assert.match(stderr, /interrupted by SIGTERM/);
  assert.ok(jsonLogLines(stderr).some((l) => l.msg === 'lock released'), detail);
  const entries = ws.readState().entries.filter((e) => e.fqn.startsWith('interrupted/'));
  assert.equal(entries.length, 2);
  assert.ok(entries.every((e) => e.status === 'failed'), detail);
  assert.deepEqual(runtimesOf(ws.dir, 'interrupted'), [], 'the half-started runtime was stopped');

  const again = await ws.cli(['apply', '--auto-approve', file]);
  assert.equal(again.code, 0, explain(again));
  assert.match(again.stdout, /Apply complete! 0 created, 2 updated/);
});
