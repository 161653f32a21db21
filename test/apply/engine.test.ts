// The apply engine with the real state backend and real runtimes, where a save fails part way.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { runtimesOf, makeWorkspace, explain, TEST_ENV } from './support.ts';
import { ProcessAdapter } from '../../src/adapters/index.ts';
import { applySpec, loadPackages } from '../../src/apply/index.ts';
import { AgentspecError } from '../../src/errors.ts';
import { openBackend } from '../../src/state/index.ts';
import type { Backend } from '../../src/state/types.ts';
import { freePort } from '../helpers/services.ts';

const ws = makeWorkspace('agentspec-engine-');
after(async () => {
  await ws.cleanup();
});

class DiskFullError extends AgentspecError {
  constructor() {
    super('E_TEST_DISK_FULL', 'no space left on device (injected)');
  }
}

/** The real local backend, except that save number `failAt` fails the way a full disk would. */
function failingSaves(inner: Backend, failAt: number): Backend {
  let saves = 0;
  return {
    location: inner.location,
    load: (o) => inner.load(o),
    save: (entries, base) => (++saves === failAt ? Promise.reject(new DiskFullError()) : inner.save(entries, base)),
    lock: (o) => inner.lock(o),
    unlock: () => inner.unlock(),
    lockInfo: () => inner.lockInfo(),
    forceUnlock: (id, o) => inner.forceUnlock(id, o),
  };
}

test('a failed save reaches the caller, the lock is released, and the next apply converges', async () => {
  const file = ws.writeSpec('savefail', await freePort());
  const specs = await loadPackages([file]);
  const real = openBackend({ stateFile: ws.stateFile });

  // Save 1 is the intent, save 2 the outcome after the runtime is healthy: fail that one.
  await assert.rejects(
    applySpec(specs, {
      backend: failingSaves(real, 2),
      stateDir: ws.dir,
      lockTimeoutMs: 10_000,
      adapters: () => new ProcessAdapter({ startTimeoutMs: Number(TEST_ENV.AGENTSPEC_START_TIMEOUT_MS) }),
    }),
    (err: unknown) => err instanceof DiskFullError,
  );
  assert.equal(await real.lockInfo(), null, 'the lock was released');
  const state = ws.readState();
  assert.ok(state.entries.every((e) => e.status === 'pending'), 'the intent record is what the disk says');
  assert.equal(runtimesOf(ws.dir, 'savefail').length, 1, 'a runtime is running that only the intent and pid file know of');

  // The next apply finds it, stops it, and records the runtime it starts.
  const r = await ws.cli(['apply', '--auto-approve', file]);
  assert.equal(r.code, 0, explain(r));
  assert.match(r.stderr, /untracked runtime process stopped/);
  const after = ws.readState();
  assert.ok(after.entries.every((e) => e.status === 'applied'));
  assert.deepEqual(runtimesOf(ws.dir, 'savefail'), [after.entries[0]!.runtime!.pid]);
});
