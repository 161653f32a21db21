// Formatter throughput: `format` of a parsed spec with 1,000 prompts, skills and agents (a comment
// before every statement and one trailing comment in every agent), against two baselines measured
// in the same run on the same input: `parse` of that text (what every command pays anyway) and
// JSON.stringify of the same tree (a serializer that does no layout or comment placement).
// Run: npx tsx bench/fmt.ts   (AGENTSPEC_BENCH_RUNS=N runs per measurement, default 7)
import { format, parse } from '../src/lang/index.ts';

const RUNS = Number(process.env.AGENTSPEC_BENCH_RUNS ?? 7);
const N = 1000;

function spec(): string {
  const out = ['# bench spec', 'package "bench" version "1.0.0" lang "3.0"', ''];
  for (let i = 0; i < N; i++) {
    out.push(`# prompt ${i}`, `prompt "p${i}" {`, `  content "You are assistant number ${i}.\\nBe brief, \\"polite\\" & exact."`, '}', '');
  }
  for (let i = 0; i < N; i++) {
    out.push(
      `// skill ${i}`,
      `skill "s${i}" {`,
      `  description "skill ${i}"`,
      '  input { query string required }',
      '  output { answer string }',
      `  tool command { binary "echo" args ["${i}"] timeout "5s" env { B "2" A "1" } }`,
      '}',
      '',
    );
  }
  for (let i = 0; i < N; i++) {
    out.push(
      `agent "a${i}" {`,
      '  model "echo" # local model',
      `  uses skill "s${i}"`,
      `  prompt p${i}`,
      '  loop "react"',
      '  temperature 0.70',
      `  metadata { z "1" team "t${i % 10}" }`,
      '}',
      '',
    );
  }
  out.push('deploy "local" target "process" { port 8080 default true }', '');
  return out.join('\n');
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

function time(fn: () => unknown): number {
  const samples: number[] = [];
  fn(); // warm-up
  for (let i = 0; i < RUNS; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return median(samples);
}

const source = spec();
const parsed = parse(source, 'bench.ias');
if (parsed.diagnostics.length > 0) throw new Error(`bench spec does not parse: ${parsed.diagnostics[0]?.message}`);
const formatted = format(parsed.file);
if (format(parse(formatted, 'bench.ias').file) !== formatted) throw new Error('format is not idempotent on the bench spec');

const parseMs = time(() => parse(source, 'bench.ias'));
const jsonMs = time(() => JSON.stringify(parsed.file));
const formatMs = time(() => format(parsed.file));

const kb = (Buffer.byteLength(source) / 1024).toFixed(0);
console.log(`spec: ${3 * N + 1} statements, ${kb} KiB, ${parsed.file.comments.length} comments; median of ${RUNS} runs`);
console.log(`parse (baseline)           ${parseMs.toFixed(1)} ms`);
console.log(`JSON.stringify (baseline)  ${jsonMs.toFixed(1)} ms`);
console.log(`format                     ${formatMs.toFixed(1)} ms`);
console.log(`ratio format / parse           ${(formatMs / parseMs).toFixed(2)}x`);
console.log(`ratio format / JSON.stringify  ${(formatMs / jsonMs).toFixed(2)}x`);
