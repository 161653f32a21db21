// Front-end throughput: parse + validate + lower of a spec with 1,000 agents, 1,000 skills and
// 1,000 prompts, against two baselines measured in the same run on the same input: the lexer
// alone, and JSON.parse of the lowered IR's JSON text (what reading a pre-compiled spec costs).
// Run: npx tsx bench/parse.ts   (AGENTSPEC_BENCH_RUNS=N runs per measurement, default 11)
import { lex, parse } from '../src/lang/index.ts';
import { lowerFile } from '../src/ir/lower.ts';
import { validateFile } from '../src/validate/index.ts';

const RUNS = Number(process.env.AGENTSPEC_BENCH_RUNS ?? 11);
const N = 1000;

function spec(): string {
  const out = ['package "bench" version "1.0.0" lang "3.0"', ''];
  for (let i = 0; i < N; i++) {
    out.push(`prompt "p${i}" {`, `  content "You are assistant number ${i}. Be brief, <polite> & exact."`, '}', '');
  }
  for (let i = 0; i < N; i++) {
    out.push(
      `skill "s${i}" {`,
      `  description "skill ${i}"`,
      '  input {',
      '    query string required',
      '  }',
      '  output {',
      '    answer string',
      '  }',
      '  tool command {',
      '    binary "echo"',
      `    args ["${i}"]`,
      '    timeout "5s"',
      '  }',
      '}',
      '',
    );
  }
  for (let i = 0; i < N; i++) {
    out.push(
      `agent "a${i}" {`,
      `  uses prompt "p${i}"`,
      `  uses skill "s${i}"`,
      `  uses skill "s${(i + 1) % N}"`,
      '  model "claude-sonnet-4-20250514"',
      '  strategy "react"',
      '  max_turns 10',
      '  temperature 0.7',
      '  metadata {',
      `    team "t${i % 10}"`,
      '  }',
      '}',
      '',
    );
  }
  out.push('deploy "local" target "process" {', '  default true', '}', '');
  return out.join('\n');
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

let heapHigh = 0;
function sampleHeap(): void {
  heapHigh = Math.max(heapHigh, process.memoryUsage().heapUsed);
}

function time(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

function measure(label: string, fn: () => void): number {
  fn(); // warm-up: JIT and caches, not counted
  const xs: number[] = [];
  for (let i = 0; i < RUNS; i++) xs.push(time(fn));
  const m = median(xs);
  console.log(`${label.padEnd(34)} median ${m.toFixed(1).padStart(8)} ms  (runs: ${xs.map((x) => x.toFixed(0)).join(', ')})`);
  return m;
}

const source = spec();
const resources = 3 * N;
let irJson = '';

const ours = measure('parse + validate + lower', () => {
  const parsed = parse(source, 'bench.ias');
  sampleHeap();
  if (parsed.diagnostics.length > 0) throw new Error(`bench spec does not parse: ${parsed.diagnostics[0]?.message}`);
  const diags = validateFile(parsed.file);
  sampleHeap();
  if (diags.length > 0) throw new Error(`bench spec is invalid: ${diags[0]?.message}`);
  const doc = lowerFile(parsed.file);
  sampleHeap();
  if (doc.resources?.length !== resources) throw new Error(`expected ${resources} resources, got ${doc.resources?.length}`);
});
irJson = JSON.stringify(lowerFile(parse(source, 'bench.ias').file));
const parseOnly = measure('  of which parse', () => {
  parse(source, 'bench.ias');
});
const parsedOnce = parse(source, 'bench.ias').file;
const validateOnly = measure('  of which validate', () => {
  validateFile(parsedOnce);
});
const lowerOnly = measure('  of which lower (incl. hashing)', () => {
  lowerFile(parsedOnce);
});
const lexOnly = measure('baseline: lexer alone', () => {
  lex(source, 'bench.ias');
});
const jsonParse = measure('baseline: JSON.parse of the IR JSON', () => {
  JSON.parse(irJson);
});
sampleHeap();

const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
console.log('');
console.log(`input: ${(source.length / 1024).toFixed(0)} KiB of .ias, ${resources} resources; IR JSON ${(irJson.length / 1024).toFixed(0)} KiB`);
console.log(`throughput: ${Math.round(resources / (ours / 1000)).toLocaleString('en-US')} resources/s (parse+validate+lower)`);
console.log(
  `shares: parse ${((parseOnly / ours) * 100).toFixed(0)}%, validate ${((validateOnly / ours) * 100).toFixed(0)}%, lower ${((lowerOnly / ours) * 100).toFixed(0)}%`,
);
console.log(`ratio to lexer alone:        ${(ours / lexOnly).toFixed(1)}x`);
console.log(`ratio to JSON.parse of IR:   ${(ours / jsonParse).toFixed(1)}x`);
console.log(`peak RSS: ${mib(process.resourceUsage().maxRSS * 1024)}; heapUsed high-water (sampled per phase): ${mib(heapHigh)}`);
