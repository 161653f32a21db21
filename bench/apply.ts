// Wall time of `plan` and `apply` (no-op and one change) on a 1,000-resource spec deployed to the
// process target (one runtime), and the CLI's cold start against a bare `node -e 0`, all in one run.
// The cold start is also measured the way the CLI started before it shipped compiled JavaScript
// (the TypeScript sources through tsx), so the gain shows in the same run.
// Then the curve: `plan` and `apply` (create) at 100 / 1,000 / 5,000 / 20,000 resources, with the
// apply/plan ratio and the time per resource (linear means a flat time per resource); with
// --baseline-ref REF (or BENCH_BASELINE_REF) the same curve for that commit, built beside.
// plan and apply (create) are measured in turns, each apply destroyed before the next plan.
// Run: npx tsx bench/apply.ts   (AGENTSPEC_BENCH_RUNS=N repeats each measurement, default 3;
// AGENTSPEC_BENCH_STARTUP_ONLY=1 stops after the cold start figures; AGENTSPEC_BENCH_SIZES=100,1000
// sets the curve's sizes; AGENTSPEC_BENCH_CURVE_ONLY=1 runs the curve alone)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { findRuntimes, snapshotPath } from '../src/adapters/index.ts';
import { buildRef } from './_servers.ts';

const CLI = fileURLToPath(new URL('../bin/agentspec.js', import.meta.url));
const MAIN_TS = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
// What bin/agentspec.js did before the build step: register tsx, then import the TypeScript entry.
// Resolved from here: the bench runs its commands in a temp directory with no node_modules.
const TSX = import.meta.resolve('tsx');
const FROM_SOURCE = `const { main } = await import(${JSON.stringify(MAIN_TS)}); process.exitCode = await main(['node', 'agentspec', ...process.argv.slice(1)]);`;
const RUNS = Number(process.env.AGENTSPEC_BENCH_RUNS ?? 3);
const AGENTS = 400;
const SKILLS = 200; // + one prompt per agent = 1,000 resources

const SIZES = (process.env.AGENTSPEC_BENCH_SIZES ?? '100,1000,5000,20000').split(',').map(Number);
const { values: flags } = parseArgs({ options: { 'baseline-ref': { type: 'string' } } });
const BASELINE_REF = flags['baseline-ref'] ?? process.env.BENCH_BASELINE_REF;

/** `agents` agents with a prompt each and `skills` skills: 2 * agents + skills resources. */
function spec(port: number, version: string, agents = AGENTS, skills = SKILLS): string {
  const out = ['package "bench" version "0.1.0" lang "2.0"', ''];
  for (let i = 0; i < agents; i++) out.push(`prompt "p${i}" {`, `  content "prompt ${i} ${i === 0 ? version : ''}"`, '}', '');
  for (let i = 0; i < skills; i++) {
    out.push(`skill "s${i}" {`, `  description "skill ${i}"`, '  input {', '    q string', '  }', '  output {', '    a string', '  }');
    out.push('  tool command {', '    binary "echo"', '  }', '}', '');
  }
  for (let i = 0; i < agents; i++) {
    out.push(`agent "a${i}" {`, `  uses prompt "p${i}"`, `  uses skill "s${i % skills}"`, '  model "echo"', '}', '');
  }
  out.push('deploy "local" target "process" {', `  port ${port}`, '}', '');
  return out.join('\n');
}

function run(args: string[], cwd: string, expect: number[] = [0]): number {
  const t0 = process.hrtime.bigint();
  // A plan of 20,000 resources prints megabytes: spawnSync's default 1 MiB buffer would kill it.
  const r = spawnSync(process.execPath, args, { cwd, encoding: 'utf8', maxBuffer: 1 << 30, env: { ...process.env, NO_COLOR: '1' } });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status === null || !expect.includes(r.status)) {
    throw new Error(`${args.join(' ')} exited ${String(r.status)}\n${r.stdout}\n${r.stderr}`);
  }
  return ms;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function measure(label: string, times: number, fn: () => number): number {
  const xs: number[] = [];
  for (let i = 0; i < times; i++) xs.push(fn());
  const m = median(xs);
  console.log(`${label.padEnd(40)} median ${m.toFixed(0).padStart(6)} ms  (runs: ${xs.map((x) => x.toFixed(0)).join(', ')})`);
  return m;
}

/**
 * `plan` and `apply` (create) of the same spec, `times` times in turns (each apply then destroyed,
 * untimed), so that the machine's speed drifting during the run falls on both alike.
 */
function planAndCreate(times: number, plan: () => number, apply: () => number, destroy: () => void): { plans: number[]; applies: number[] } {
  const plans: number[] = [];
  const applies: number[] = [];
  for (let i = 0; i < times; i++) {
    plans.push(plan());
    applies.push(apply());
    destroy();
  }
  return { plans, applies };
}

function report(label: string, xs: number[]): number {
  const m = median(xs);
  console.log(`${label.padEnd(40)} median ${m.toFixed(0).padStart(6)} ms  (runs: ${xs.map((x) => x.toFixed(0)).join(', ')})`);
  return m;
}

function killRuntimes(workDir: string): void {
  for (const pid of findRuntimes(snapshotPath(workDir, 'bench'))) process.kill(-pid, 'SIGKILL');
}

/** plan and apply (create) at each size, for the CLI at `bin`. */
function curve(label: string, bin: string): Array<{ n: number; plan: number; apply: number }> {
  console.log(`\ncurve, ${label}: plan and apply (create) of a fresh spec, process target`);
  console.log(`${'resources'.padStart(9)} ${'plan ms'.padStart(9)} ${'apply ms'.padStart(9)} ${'apply/plan'.padStart(10)} ${'plan µs/res'.padStart(12)} ${'apply µs/res'.padStart(12)}`);
  const points: Array<{ n: number; plan: number; apply: number }> = [];
  for (const n of SIZES) {
    const agents = Math.max(1, Math.round(n * 0.4));
    const skills = Math.max(1, n - 2 * agents);
    const d = mkdtempSync(path.join(os.tmpdir(), 'agentspec-bench-curve-'));
    const f = path.join(d, 'bench.ias');
    const c = (...args: string[]): string[] => [bin, '--state-file', path.join(d, 'state.json'), ...args];
    try {
      writeFileSync(f, spec(20_000 + Math.floor(Math.random() * 20_000), 'v0', agents, skills));
      const times = n >= 5000 ? 1 : RUNS;
      const pairs = planAndCreate(
        times,
        () => run(c('plan', f), d),
        () => run(c('apply', '--auto-approve', f), d),
        () => run(c('destroy', '--auto-approve', f), d),
      );
      const plan = median(pairs.plans);
      const apply = median(pairs.applies);
      const total = 2 * agents + skills;
      points.push({ n: total, plan, apply });
      console.log(
        `${String(total).padStart(9)} ${plan.toFixed(0).padStart(9)} ${apply.toFixed(0).padStart(9)} ${(apply / plan).toFixed(2).padStart(10)} ${((plan * 1000) / total).toFixed(0).padStart(12)} ${((apply * 1000) / total).toFixed(0).padStart(12)}`,
      );
    } finally {
      killRuntimes(d);
      rmSync(d, { recursive: true, force: true });
    }
  }
  return points;
}

if (process.env.AGENTSPEC_BENCH_CURVE_ONLY !== '1') {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'agentspec-bench-apply-'));
  const file = path.join(dir, 'bench.ias');
  const cli = (...args: string[]): string[] => [CLI, '--state-file', path.join(dir, 'state.json'), ...args];
  try {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    writeFileSync(file, spec(port, 'v0'));
    console.log(`spec: ${AGENTS} agents + ${AGENTS} prompts + ${SKILLS} skills = ${2 * AGENTS + SKILLS} resources, process target, ${RUNS} runs each\n`);

    const node = measure('baseline: node -e 0', RUNS + 4, () => run(['-e', '0'], dir));
    const version = measure('agentspec --version (cold start)', RUNS + 4, () => run([CLI, '--version'], dir));
    const viaTsx = measure('--version from the sources through tsx', RUNS + 4, () =>
      run(['--import', TSX, '--input-type=module', '-e', FROM_SOURCE, '--', '--version'], dir),
    );
    console.log(`\n  cold start / node -e 0:           ${(version / node).toFixed(2)}x (goal <= 2.5x)`);
    console.log(`  through tsx / node -e 0:          ${(viaTsx / node).toFixed(2)}x (how it started before the build step)\n`);
    if (process.env.AGENTSPEC_BENCH_STARTUP_ONLY === '1') {
      rmSync(dir, { recursive: true, force: true });
      process.exit(0);
    }
    const created = planAndCreate(
      RUNS,
      () => run(cli('plan', file), dir),
      () => run(cli('apply', '--auto-approve', file), dir),
      () => run(cli('destroy', '--auto-approve', file), dir),
    );
    const planCreate = report('plan (1,000 to create)', created.plans);
    const applyCreate = report('apply (1,000 created, runtime start)', created.applies);
    // The no-op and one-change figures below start from the spec applied.
    run(cli('apply', '--auto-approve', file), dir);
    const planNoop = measure('plan (no changes)', RUNS, () => run(cli('plan', file), dir));
    const applyNoop = measure('apply (no changes)', RUNS, () => run(cli('apply', '--auto-approve', file), dir));
    let n = 0;
    const applyOne = measure('apply (1 change, runtime restart)', RUNS, () => {
      writeFileSync(file, spec(port, `v${++n}`));
      return run(cli('apply', '--auto-approve', file), dir);
    });

    console.log('\nratios');
    console.log(`  cold start / node -e 0:           ${(version / node).toFixed(2)}x`);
    console.log(`  plan no-op / cold start:          ${(planNoop / version).toFixed(2)}x`);
    console.log(`  plan create / cold start:         ${(planCreate / version).toFixed(2)}x`);
    console.log(`  apply no-op / cold start:         ${(applyNoop / version).toFixed(2)}x`);
    console.log(`  apply 1 change / apply no-op:     ${(applyOne / applyNoop).toFixed(2)}x`);
    console.log(`  apply create / plan create:       ${(applyCreate / planCreate).toFixed(2)}x (goal <= 2x)`);
    run(cli('destroy', '--auto-approve', file), dir);
  } finally {
    killRuntimes(dir);
    rmSync(dir, { recursive: true, force: true });
  }
}

const ours = curve('this checkout', CLI);
if (BASELINE_REF !== undefined) {
  const previous = buildRef(fileURLToPath(new URL('..', import.meta.url)), BASELINE_REF);
  const theirs = curve(`${BASELINE_REF} (${previous.sha.slice(0, 12)})`, path.join(previous.dir, 'bin', 'agentspec.js'));
  console.log('\nours / previous');
  for (const [i, p] of ours.entries()) {
    const q = theirs[i];
    if (q !== undefined) console.log(`${String(p.n).padStart(9)} resources: plan ${(p.plan / q.plan).toFixed(2)}x, apply ${(p.apply / q.apply).toFixed(2)}x`);
  }
}
