import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from '../../src/lang/index.ts';
import { lowerFile } from '../../src/ir/lower.ts';
import { canonicalJson } from '../../src/ir/hash.ts';

const FIXTURES = new URL('../fixtures/intentlang/', import.meta.url);

/** hash-vectors.txt: `## file.ias` sections of `FQN sha256:...` lines. */
function readVectors(): Map<string, Map<string, string>> {
  const text = readFileSync(fileURLToPath(new URL('hash-vectors.txt', FIXTURES)), 'utf8');
  const out = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('## ')) {
      current = new Map();
      out.set(line.slice(3).trim(), current);
    } else if (line.trim() !== '' && !line.startsWith('#')) {
      const [fqn, hash, ...rest] = line.trim().split(/\s+/);
      assert.ok(current !== undefined && fqn !== undefined && hash !== undefined && rest.length === 0, `bad vector line: ${line}`);
      assert.ok(!current.has(fqn), `duplicate vector ${fqn}`);
      current.set(fqn, hash);
    }
  }
  return out;
}

const vectors = readVectors();

test('the vector file covers every example', () => {
  assert.equal(vectors.size, 12);
  assert.equal([...vectors.values()].reduce((n, m) => n + m.size, 0), 66);
});

for (const [file, expected] of vectors) {
  test(`${file}: lowered on its own gives exactly the original FQNs and hashes`, () => {
    const source = readFileSync(fileURLToPath(new URL(`examples/${file}`, FIXTURES)), 'utf8');
    const parsed = parse(source, file);
    assert.deepEqual(parsed.diagnostics, []);
    const doc = lowerFile(parsed.file);
    const actual = new Map((doc.resources ?? []).map((r) => [r.fqn, r.hash]));
    assert.deepEqual(actual, expected);
  });
}

test('REFERENCE 3.4 third vector through the parser: unknown escapes keep the backslash, < & are Go-escaped', () => {
  const source = 'package "v" version "1" lang "3.0"\nprompt "p" {\n  content "x < y & z \\d \\q\\nsecond line"\n}\n';
  const parsed = parse(source, 'v.ias');
  assert.deepEqual(parsed.diagnostics, []);
  const prompt = lowerFile(parsed.file).resources?.[0];
  assert.equal(prompt?.attributes.content, 'x < y & z \\d \\q\nsecond line');
  assert.equal(canonicalJson(prompt!.attributes), '{"content":"x \\u003c y \\u0026 z \\\\d \\\\q\\nsecond line"}');
  assert.equal(prompt?.hash, 'sha256:' + createHash('sha256').update('{"content":"x \\u003c y \\u0026 z \\\\d \\\\q\\nsecond line"}').digest('hex'));
});
