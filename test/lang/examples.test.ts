import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from '../../src/lang/parser.ts';

const dir = path.resolve(import.meta.dirname, '../fixtures/intentlang/examples');
const files = readdirSync(dir).filter((f) => f.endsWith('.ias')).sort();

test('the example set is present', () => {
  assert.ok(files.length >= 12, `found ${files.length} examples`);
});

for (const f of files) {
  test(`example ${f} parses with zero diagnostics`, () => {
    const r = parse(readFileSync(path.join(dir, f), 'utf8'), f);
    assert.deepEqual(r.diagnostics, []);
    assert.ok(r.file.header !== undefined);
    assert.ok(r.file.statements.length > 0);
    for (const s of r.file.statements) {
      assert.ok(s.pos.line >= 1 && s.endLine >= s.pos.line, `${s.kind} positions`);
    }
  });
}
