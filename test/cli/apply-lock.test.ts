import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import { LocalBackend } from '../../src/state/index.ts';
import { freePort } from '../helpers/services.ts';
import { explain, makeWorkspace } from '../apply/support.ts';

const ws = makeWorkspace('agentspec-lock-');
after(async () => {
  await ws.cleanup();
});

test('--lock-timeout 1s against a held lock exits 3 naming the holder', async () => {
  const spec = ws.writeSpec('locked', await freePort());
  const holder = new LocalBackend({ path: ws.stateFile });
  const info = await holder.lock({ operation: 'test-holder' });
  try {
    const r = await ws.cli(['apply', '--auto-approve', '--lock-timeout', '1s', spec]);
    assert.equal(r.code, 3, explain(r));
    assert.match(r.stderr, new RegExp(`pid ${process.pid}\\b`));
    assert.ok(r.stderr.includes(os.hostname()), explain(r));
    assert.ok(r.stderr.includes(info.created), explain(r));
  } finally {
    await holder.unlock();
  }
  // Nothing was started while the lock was held by someone else.
  const after = await ws.cli(['plan', '--json', spec]);
  assert.equal(after.code, 0, explain(after));
  assert.equal((JSON.parse(after.stdout) as { summary: { create: number } }).summary.create, 2);
});
