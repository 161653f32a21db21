import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkSpec } from '../../src/ir/compile.ts';

const EXAMPLES = fileURLToPath(new URL('../fixtures/intentlang/examples/', import.meta.url));
const files = readdirSync(EXAMPLES).filter((f) => f.endsWith('.ias')).sort();

test('there are example files to check', () => {
  assert.ok(files.length >= 12, `found ${files.length}`);
});

for (const f of files) {
  test(`example ${f} validates with its imports and has no diagnostics`, async () => {
    const checked = await checkSpec([path.join(EXAMPLES, f)]);
    assert.deepEqual(checked.diagnostics, []);
    assert.equal(checked.roots.length, 1);
  });
}

test('the examples directory validates as a whole; an imported file is not a root of its own', async () => {
  const checked = await checkSpec([EXAMPLES]);
  assert.deepEqual(checked.diagnostics, []);
  const roots = checked.roots.map((r) => path.basename(r.root.path));
  assert.ok(roots.includes('support-agent.ias'));
  assert.ok(!roots.includes('knowledge-base.ias'), 'knowledge-base.ias is imported by support-agent.ias');
  assert.equal(checked.files.length, files.length);
});
