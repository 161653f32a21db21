import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import type { Diagnostic } from '../../src/lang/diagnostics.ts';
import { loadSources } from '../../src/lang/load.ts';
import { parse } from '../../src/lang/parser.ts';
import { KEYWORDS } from '../../src/lang/tokens.ts';

const CI = process.env.CI === 'true';
const PARSE_RUNS = Number(process.env.LANG_FUZZ_RUNS ?? (CI ? 10000 : 1000));
const LOAD_RUNS = Number(process.env.LANG_FUZZ_LOAD_RUNS ?? (CI ? 1000 : 150));

const exampleDir = path.resolve(import.meta.dirname, '../fixtures/intentlang/examples');
const examples = readdirSync(exampleDir)
  .filter((f) => f.endsWith('.ias'))
  .sort()
  .map((f) => readFileSync(path.join(exampleDir, f), 'utf8'));

/** Pieces a mutation may insert: grammar words, punctuation, and characters the lexer rejects. */
const PIECES = [
  ...KEYWORDS,
  '{', '}', '[', ']', '(', ')', ',', '.', ':', '==', '!=', '>', '>=', '<', '<=', '=', '!', '/', '//', '#',
  '"', '"x"', '"\\', '\n', ' ', '\t', '-', '-1', '0.5', '2024-01-01', '1.2.3', 'é', '💥', '\r', '\u0000',
  'max_messages', 'expect', 'cpu', 'path', 'min', 'max', 'metric', 'interval',
];

/** Split into chunks that roughly follow token boundaries (strings kept whole). */
function chunks(src: string): string[] {
  return src.match(/"(?:[^"\\]|\\.)*"?|\s+|[{}[\](),.:]|[^\s{}[\](),.:"]+/g) ?? [];
}

type Op =
  | { op: 'delete'; at: number }
  | { op: 'insert'; at: number; piece: string }
  | { op: 'swap'; a: number; b: number }
  | { op: 'dup'; at: number }
  | { op: 'charDelete'; at: number }
  | { op: 'charInsert'; at: number; ch: string };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), piece: fc.constantFrom(...PIECES) }),
  fc.record({ op: fc.constant('swap' as const), a: fc.nat(), b: fc.nat() }),
  fc.record({ op: fc.constant('dup' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('charDelete' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('charInsert' as const), at: fc.nat(), ch: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) }),
);

function mutate(src: string, ops: Op[]): string {
  let parts = chunks(src);
  for (const o of ops) {
    if (parts.length === 0) parts = [''];
    const n = parts.length;
    switch (o.op) {
      case 'delete':
        parts.splice(o.at % n, 1);
        break;
      case 'insert':
        parts.splice(o.at % (n + 1), 0, o.piece);
        break;
      case 'swap': {
        const a = o.a % n;
        const b = o.b % n;
        [parts[a], parts[b]] = [parts[b] as string, parts[a] as string];
        break;
      }
      case 'dup':
        parts.splice(o.at % n, 0, parts[o.at % n] as string);
        break;
      case 'charDelete': {
        const text = parts.join('');
        const i = o.at % Math.max(1, text.length);
        parts = chunks(text.slice(0, i) + text.slice(i + 1));
        break;
      }
      case 'charInsert': {
        const text = parts.join('');
        const i = o.at % (text.length + 1);
        parts = chunks(text.slice(0, i) + o.ch + text.slice(i));
        break;
      }
    }
  }
  return parts.join('');
}

/** What must hold for any input: diagnostics only, each inside the text, AST serialisable. */
function checkParse(src: string): void {
  const r = parse(src, 'fuzz.ias');
  assert.ok(Array.isArray(r.diagnostics));
  assert.ok(Array.isArray(r.file.statements));
  const widths = lineWidths(src);
  for (const d of r.diagnostics) checkDiagnostic(d, widths);
  JSON.stringify(r.file);
}

/** Width in runes of every line. */
function lineWidths(src: string): number[] {
  return src.split('\n').map((l) => [...l].length);
}

function checkDiagnostic(d: Diagnostic, widths: number[]): void {
  assert.equal(d.severity, 'error');
  assert.ok(d.message.length > 0);
  assert.ok(d.line >= 1 && d.line <= widths.length, `line ${d.line} of ${widths.length}`);
  const width = widths[d.line - 1] ?? 0;
  assert.ok(d.column >= 1 && d.column <= width + 1, `column ${d.column} of ${width + 1} (${d.message})`);
}

describe('parser and loader never throw and always terminate', () => {
  test('random strings', { timeout: 300_000 }, () => {
    const grammarish = fc
      .array(fc.oneof(fc.constantFrom(...PIECES), fc.string({ maxLength: 4 })), { maxLength: 60 })
      .map((xs) => xs.join(' '));
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), grammarish), (src) => {
        checkParse(src);
        checkParse('package "p" version "1" lang "3.0"\n' + src);
      }),
      { numRuns: PARSE_RUNS },
    );
  });

  test('mutated example files', { timeout: 300_000 }, () => {
    fc.assert(
      fc.property(fc.nat({ max: examples.length - 1 }), fc.array(opArb, { minLength: 1, maxLength: 8 }), (i, ops) => {
        checkParse(mutate(examples[i] as string, ops));
      }),
      { numRuns: PARSE_RUNS },
    );
  });

  test('deeply nested and very long inputs terminate', { timeout: 120_000 }, () => {
    checkParse('package "p"\n' + 'agent "a" { on input { '.repeat(1) + 'if x { '.repeat(2000) + '}'.repeat(2000));
    checkParse('package "p"\n' + 'x '.repeat(50_000));
    checkParse('package "p"\n' + '{'.repeat(20_000));
    checkParse('"'.repeat(10_001));
  });

  describe('loader', () => {
    let dir: string;
    before(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'agentspec-fuzz-'));
    });
    after(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    test('mutated files importing each other', { timeout: 300_000 }, async () => {
      const importLine = fc.constantFrom(
        'import "./a"\n', 'import "./b.ias"\n', 'import "c"\n', 'import "./sub"\n', 'import "./a" as x\n',
        'import "pkg.io/p" version "1"\n', 'import ""\n', 'import "../"\n', 'import "."\n',
      );
      let run = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.tuple(fc.nat({ max: examples.length - 1 }), fc.array(opArb, { maxLength: 4 }), fc.array(importLine, { maxLength: 3 })),
            { minLength: 3, maxLength: 3 },
          ),
          async (specs) => {
            const base = path.join(dir, `r${run++}`);
            await mkdir(base, { recursive: true });
            const names = ['a.ias', 'b.ias', 'c.ias'];
            for (const [k, [i, ops, imports]] of specs.entries()) {
              const text = mutate(imports.join('') + (examples[i] as string), ops);
              await writeFile(path.join(base, names[k] as string), text);
            }
            const r = await loadSources([base], { cwd: base, searchPaths: [path.join(base, 'pkgs')] });
            assert.ok(Array.isArray(r.diagnostics));
            for (const root of r.roots) assert.ok(root.statements.length >= 0);
            for (const d of r.diagnostics) {
              const src = r.sources.get(d.file);
              if (src !== undefined) checkDiagnostic(d, lineWidths(src));
            }
          },
        ),
        { numRuns: LOAD_RUNS },
      );
    });
  });
});

