// The durable save's syscall order, observed with strace on a real save in a child process:
// temp open O_EXCL -> fsync(temp) -> link(state, backup temp) -> rename(backup) -> rename(state)
// -> fsync(directory). Dropping any fsync or the backup rotation fails this test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { saveOnce } from '../helpers/state.ts';

const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

test('a save issues open(O_EXCL), fsync(temp), link, rename(backup), rename(state), fsync(dir) in that order', async (t) => {
  if (spawnSync('strace', ['-V']).status !== 0) {
    if (process.env.CI === 'true') throw new Error('strace is required in CI (.ci/run installs it)');
    t.skip('strace is not installed');
    return;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agentspec-strace-'));
  try {
    const file = path.join(dir, 'state.json');
    // An existing state, so that this save rotates a backup.
    await saveOnce(file, []);
    const trace = path.join(dir, 'trace.txt');
    const r = spawnSync(
      'strace',
      ['-f', '-y', '-qq', '-e', 'trace=openat,open,fsync,fdatasync,link,linkat,rename,renameat,renameat2', '-o', trace, process.execPath, '--import', 'tsx', CHILD, 'add', file, 'traced', '1'],
      { cwd: ROOT, encoding: 'utf8', env: { ...process.env, AGENTSPEC_LOG_FORMAT: 'json' } },
    );
    assert.equal(r.status, 0, r.stderr);
    const lines = fs.readFileSync(trace, 'utf8').split('\n').filter((l) => l.includes(dir) && !l.includes('ENOENT'));
    const d = escape(dir);
    const tmp = `${d}/\\.state\\.json\\.[0-9a-f]{16}\\.tmp`;
    const bakTmp = `${d}/\\.state\\.json\\.bak\\.[0-9a-f]{16}\\.tmp`;
    const steps: Array<[string, RegExp]> = [
      ['open temp with O_EXCL', new RegExp(`open(at)?\\(.*"${tmp}", [^)]*O_CREAT\\|O_EXCL`)],
      ['fsync(temp)', new RegExp(`f(data)?sync\\(\\d+<${tmp}>\\)`)],
      ['link(state, backup temp)', new RegExp(`link(at)?\\(.*"${d}/state\\.json", .*"${bakTmp}"`)],
      ['rename(backup temp, backup)', new RegExp(`rename(at2?)?\\(.*"${bakTmp}", .*"${d}/state\\.json\\.bak"`)],
      ['rename(temp, state)', new RegExp(`rename(at2?)?\\(.*"${tmp}", .*"${d}/state\\.json"\\)`)],
      ['fsync(directory)', new RegExp(`f(data)?sync\\(\\d+<${d}>\\)`)],
    ];
    let at = -1;
    for (const [name, re] of steps) {
      const i = lines.findIndex((l, idx) => idx > at && re.test(l));
      assert.ok(i > at, `${name} not found after step ${at} in:\n${lines.join('\n')}`);
      at = i;
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
