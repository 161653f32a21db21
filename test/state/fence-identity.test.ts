// The last fence before the rename: a writer that bypassed the lock while a save was in flight is
// detected by the state file's identity (dev, ino, size, mtime), and its file is not overwritten.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { durableWrite } from '../../src/state/index.ts';
import { StateChangedError } from '../../src/state/errors.ts';

function stampOf(file: string): { dev: bigint; ino: bigint; size: bigint; mtimeNs: bigint } {
  const st = fs.statSync(file, { bigint: true });
  return { dev: st.dev, ino: st.ino, size: st.size, mtimeNs: st.mtimeNs };
}

const cases: Array<[string, (file: string) => void]> = [
  ['rewritten in place', (file) => fs.writeFileSync(file, '{"someone":"else","wrote":"this"}\n')],
  [
    'replaced by rename',
    (file) => {
      fs.writeFileSync(`${file}.other`, '{"someone":"else"}\n');
      fs.renameSync(`${file}.other`, file);
    },
  ],
  ['removed', (file) => fs.rmSync(file)],
];

for (const [how, bypass] of cases) {
  test(`a state file ${how} between the fences and the rename is not overwritten`, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agentspec-fence-'));
    try {
      const file = path.join(dir, 'state.json');
      fs.writeFileSync(file, '{"mine":1}\n');
      const expected = stampOf(file);
      let fences = 0;
      await assert.rejects(
        durableWrite({
          path: file,
          data: '{"mine":2}\n',
          backupPath: `${file}.bak`,
          expected,
          fence: () => {
            // The second call is the last fence: the intruder writes right after it passes.
            if (++fences === 2) bypass(file);
            return Promise.resolve();
          },
        }),
        StateChangedError,
      );
      assert.equal(fences, 2);
      if (fs.existsSync(file)) assert.notEqual(fs.readFileSync(file, 'utf8'), '{"mine":2}\n');
      assert.deepEqual(fs.readdirSync(dir).filter((n) => n.endsWith('.tmp')), [], 'no temp file left');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('an unchanged file passes the identity check', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agentspec-fence-'));
  try {
    const file = path.join(dir, 'state.json');
    fs.writeFileSync(file, '{"mine":1}\n');
    await durableWrite({ path: file, data: '{"mine":2}\n', backupPath: `${file}.bak`, expected: stampOf(file), fence: () => Promise.resolve() });
    assert.equal(fs.readFileSync(file, 'utf8'), '{"mine":2}\n');
    assert.equal(fs.readFileSync(`${file}.bak`, 'utf8'), '{"mine":1}\n');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
