import { performance } from 'node:perf_hooks';

export interface PairOptions {
  /** Runs of each side that are measured. */
  runs: number;
  /** Unmeasured runs of each side first (JIT, connections, caches). */
  warmup: number;
  /** What one run is called in the output line ("call", "run"). */
  unit: string;
}

/**
 * Mean ms per run of `baseline` and `ours`, printed with their ratio. The two alternate in ten
 * rounds, so drift of a shared machine hits both alike.
 */
export async function pair(label: string, baseline: () => Promise<unknown>, ours: () => Promise<unknown>, opts: PairOptions): Promise<void> {
  for (let i = 0; i < opts.warmup; i++) {
    await baseline();
    await ours();
  }
  let tb = 0;
  let to = 0;
  const rounds = 10;
  for (let r = 0; r < rounds; r++) {
    let t = performance.now();
    for (let i = 0; i < opts.runs / rounds; i++) await baseline();
    tb += performance.now() - t;
    t = performance.now();
    for (let i = 0; i < opts.runs / rounds; i++) await ours();
    to += performance.now() - t;
  }
  const mb = tb / opts.runs;
  const mo = to / opts.runs;
  const u = opts.unit;
  console.log(`${label.padEnd(34)} baseline ${mb.toFixed(3).padStart(8)} ms/${u}   ours ${mo.toFixed(3).padStart(8)} ms/${u}   ratio ${(mo / mb).toFixed(2)}x`);
}
