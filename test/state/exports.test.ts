import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Backend } from '@agentspec/cli/state';

test('the package subpath @agentspec/cli/state (compiled dist/, .d.ts types) exports the backend, its factory and its errors', async () => {
  const m = await import('@agentspec/cli/state');
  for (const name of ['LocalBackend', 'openBackend', 'StateCorruptedError', 'StateLockedError', 'StateLockLostError', 'StateWriteError', 'StateSerialMismatchError']) {
    assert.equal(typeof (m as Record<string, unknown>)[name], 'function', name);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agentspec-exports-'));
  try {
    const b: Backend = m.openBackend({ stateFile: path.join(dir, 'state.json') });
    assert.ok(b instanceof m.LocalBackend);
    assert.equal(b.location, path.join(dir, 'state.json'));
    assert.equal((await b.load()).serial, 0);
    const err = new m.StateCorruptedError({ path: 'p', backupPath: 'p.bak', backupUsed: true, cause: new Error('x') });
    assert.equal(err.code, 'E_STATE_CORRUPTED');
    assert.equal(err.exitCode, 4);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
