import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LineBatch } from '../../src/line-batch.ts';

test('a batch writes every line once, in order, whole: multi-byte text, lines near and over the batch size', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'agentspec-line-batch-'));
  const file = path.join(dir, 'out.log');
  const fd = openSync(file, 'w');
  try {
    const batch = new LineBatch(fd, { maxBytes: 1024, maxDelayMs: 60_000 });
    const lines: string[] = [];
    for (let i = 0; i < 400; i++) {
      // Short ASCII lines, lines of 2-, 3- and 4-byte characters, and some longer than the whole batch.
      const body = i % 50 === 7 ? 'x'.repeat(5000) : i % 3 === 0 ? `é€😀 ${i} `.repeat(i % 40) : `line ${i}`;
      lines.push(`${body}\n`);
      batch.write(`${body}\n`);
    }
    batch.flush();
    // A flush with nothing waiting writes nothing, and the batch goes on after it.
    batch.flush();
    batch.write('last\n');
    batch.flush();
    assert.equal(readFileSync(file, 'utf8'), `${lines.join('')}last\n`);
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
});
