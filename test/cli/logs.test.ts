import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { logPath } from '../../src/adapters/index.ts';
import { LocalBackend } from '../../src/state/index.ts';
import { CLI } from '../helpers/cli.ts';
import { explain, makeWorkspace } from '../apply/support.ts';

const ws = makeWorkspace('agentspec-logs-');
after(async () => {
  await ws.cleanup();
});

test('logs --tail prints the last lines; --follow prints what is appended until interrupted', async () => {
  const file = logPath(ws.dir, 'pkg');
  mkdirSync(path.dirname(file), { recursive: true });
  // Only deployed packages have logs to show: record one in the state.
  const backend = new LocalBackend({ path: ws.stateFile });
  await backend.lock({ operation: 'test', timeoutMs: 10_000 });
  try {
    const s = await backend.load();
    await backend.save([{ fqn: 'pkg/Agent/a', hash: 'sha256:x', status: 'applied', last_applied: new Date().toISOString(), adapter: 'process' }], s.serial);
  } finally {
    await backend.unlock();
  }
  // A record with a stack trace under it counts as one.
  writeFileSync(file, 'one\n[10:00:00.000] ERROR (1): two\n    Error: boom\n        at x (y.js:1:1)\nthree\n');

  const tail = await ws.cli(['logs', 'pkg', '--tail', '2']);
  assert.equal(tail.code, 0, explain(tail));
  assert.equal(tail.stdout, '[10:00:00.000] ERROR (1): two\n    Error: boom\n        at x (y.js:1:1)\nthree\n');
  const whole = await ws.cli(['logs', 'a']);
  assert.match(whole.stdout, /^one\n/);

  // A package that is no longer deployed: its old log is not shown.
  const stale = logPath(ws.dir, 'gone');
  writeFileSync(stale, 'from a destroyed package\n');
  const all = await ws.cli(['logs']);
  assert.equal(all.code, 0, explain(all));
  assert.doesNotMatch(all.stdout, /destroyed package/);
  const gone = await ws.cli(['logs', 'gone']);
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, /no deployed agent or package named "gone"/);

  const child = spawn(process.execPath, [CLI, '--state-file', ws.stateFile, 'logs', 'pkg', '--follow', '--tail', '0'], {
    cwd: ws.dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const seen = new Promise<void>((resolve) => {
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.includes('four\n')) resolve();
    });
  });
  const exited = once(child, 'exit') as Promise<[number | null]>;
  // Keep appending until the follower (which may still be starting) has printed it.
  const timer = setInterval(() => appendFileSync(file, out === '' ? 'four\n' : ''), 300);
  try {
    await Promise.race([seen, exited]);
  } finally {
    clearInterval(timer);
  }
  assert.match(out, /^(four\n)+$/);
  child.kill('SIGINT');
  const [code] = await exited;
  assert.equal(code, 0);
  // Leave the workspace with nothing deployed for the next test.
  await backend.lock({ operation: 'test', timeoutMs: 10_000 });
  try {
    await backend.save([], (await backend.load()).serial);
  } finally {
    await backend.unlock();
  }
});

test('status with nothing deployed says so; logs for an unknown agent is an error', async () => {
  const st = await ws.cli(['status']);
  assert.equal(st.code, 0, explain(st));
  assert.equal(st.stdout, 'Nothing is deployed.\n');
  const json = await ws.cli(['status', '--json']);
  assert.deepEqual((JSON.parse(json.stdout) as { resources: unknown[] }).resources, []);
  const r = await ws.cli(['logs', 'ghost']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no deployed agent or package named "ghost"/);
});
