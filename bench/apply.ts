// Wall time of `plan` and `apply` (no-op and one change) on a 1,000-resource spec deployed to the
// process target (one runtime), and the CLI's cold start against a bare `node -e 0`, all in one run.
// The cold start is also measured the way the CLI started before it shipped compiled JavaScript
// (the TypeScript sources through tsx), so the gain shows in the same run.
// Run: npx tsx bench/apply.ts   (AGENTSPEC_BENCH_RUNS=N repeats each measurement, default 3;
// AGENTSPEC_BENCH_STARTUP_ONLY=1 stops after the cold start figures)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findRuntimes, snapshotPath } from '../src/adapters/index.ts';

const CLI = fileURLToPath(new URL('../bin/agentspec.js', import.meta.url));
const MAIN_TS = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
// What bin/agentspec.js did before the build step: register tsx, then import the TypeScript entry.
// Resolved from here: the bench runs its commands in a temp directory with no node_modules.
const TSX = import.meta.resolve('tsx');
const FROM_SOURCE = `const { main } = await import(${JSON.stringify(MAIN_TS)}); process.exitCode = await main(['node', 'agentspec', ...process.argv.slice(1)]);`;
const RUNS = Number(process.env.AGENTSPEC_BENCH_RUNS ?? 3);
const AGENTS = 400;
const SKILLS = 200; // + one prompt per agent = 1,000 resources

function spec(port: number, version: string): string {
  const out = ['package "bench" version "0.1.0" lang "2.0"', ''];
  for (let i = 0; i < AGENTS; i++) out.push(`prompt "p${i}" {`, `  content "prompt ${i} ${i === 0 ? version : ''}"`, '}', '');
  for (let i = 0; i < SKILLS; i++) {
    out.push(`skill "s${i}" {`, `  description "skill ${i}"`, '  input {', '    q string', '  }', '  output {', '    a string', '  }');
    out.push('  tool command {', '    binary "echo"', '  }', '}', '');
  }
  for (let i = 0; i < AGENTS; i++) {
    out.push(`agent "a${i}" {`, `  uses prompt "p${i}"`, `  uses skill "s${i % SKILLS}"`, '  model "echo"', '}', '');
  }
  out.push('deploy "local" target "process" {', `  port ${port}`, '}', '');
  return out.join('\n');
}

function run(args: string[], cwd: string, expect: number[] = [0]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
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
  const planCreate = measure('plan (1,000 to create)', RUNS, () => run(cli('plan', file), dir));
  const applyCreate = measure('apply (1,000 created, runtime start)', 1, () => run(cli('apply', '--auto-approve', file), dir));
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
  console.log(`  apply create (once):              ${applyCreate.toFixed(0)} ms`);
  run(cli('destroy', '--auto-approve', file), dir);
} finally {
  for (const pid of findRuntimes(snapshotPath(dir, 'bench'))) process.kill(-pid, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}
