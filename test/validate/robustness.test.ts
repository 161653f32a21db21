import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { parse } from '../../src/lang/index.ts';
import { lowerFile } from '../../src/ir/lower.ts';
import { contentHash } from '../../src/ir/hash.ts';
import { validateFile } from '../../src/validate/index.ts';

const RUNS = process.env.CI === 'true' ? 3000 : 400;
const DIR = new URL('../fixtures/intentlang/examples/', import.meta.url);
const examples = readdirSync(fileURLToPath(DIR))
  .filter((f) => f.endsWith('.ias'))
  .sort()
  .map((f) => readFileSync(fileURLToPath(new URL(f, DIR)), 'utf8'));

const WORDS = ['{', '}', '"x"', '""', '\n', 'agent', 'prompt', 'skill', 'uses', 'tool', 'mcp', 'step', 'rule', 'case', 'on', 'input', 'if', 'else', 'default', '-1', '2.5', 'true', '"a/b"', 'environment', 'server'];

const mutated = fc
  .tuple(
    fc.constantFrom(...examples),
    fc.array(
      fc.oneof(
        fc.record({ op: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 12 }) }),
        fc.record({ op: fc.constant('insert' as const), at: fc.nat(), text: fc.constantFrom(...WORDS) }),
      ),
      { minLength: 1, maxLength: 6 },
    ),
  )
  .map(([source, edits]) => {
    let s = source;
    for (const e of edits) {
      const at = e.at % (s.length + 1);
      s = e.op === 'delete' ? s.slice(0, at) + s.slice(at + e.len) : `${s.slice(0, at)} ${e.text} ${s.slice(at)}`;
    }
    return s;
  });

test('validation and lowering never throw on whatever the parser returns, and diagnostics are well-formed', () => {
  fc.assert(
    fc.property(mutated, (source) => {
      const parsed = parse(source, 'm.ias');
      const diags = validateFile(parsed.file);
      for (const d of diags) {
        assert.ok(Number.isInteger(d.line) && d.line >= 1 && Number.isInteger(d.column) && d.column >= 1, JSON.stringify(d));
        assert.equal(d.file, 'm.ias');
        assert.ok(d.message.length > 0);
      }
      if (parsed.file.header !== undefined) {
        const doc = lowerFile(parsed.file);
        const fqns = (doc.resources ?? []).map((r) => r.fqn);
        assert.equal(new Set(fqns).size, fqns.length, 'no two resources share an FQN');
        for (const r of doc.resources ?? []) assert.equal(r.hash, contentHash(r.attributes));
      }
    }),
    { numRuns: RUNS },
  );
});
