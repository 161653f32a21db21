import type { StateEntry } from '../../src/state/index.ts';

/** Deterministic entry count for a serial: sizes jump between small, medium and up to 10,000. */
export function crashEntryCount(serial: number): number {
  const h = Math.imul(serial, 2654435761) >>> 0;
  const band = serial % 3;
  return band === 0 ? h % 100 : band === 1 ? h % 1000 : h % 10_001;
}

/** The exact entries the crash child saves as `serial`, so a test can rebuild what it expects. */
export function crashEntries(serial: number): StateEntry[] {
  const n = crashEntryCount(serial);
  const out: StateEntry[] = [];
  for (let i = 0; i < n; i++) {
    out.push({
      fqn: `crash/Agent/a${String(i).padStart(5, '0')}`,
      hash: `sha256:${serial}-${i}`,
      status: i % 7 === 0 ? 'failed' : 'applied',
      last_applied: '2026-11-27T00:00:00.000Z',
      adapter: 'process',
      ...(i % 7 === 0 ? { error: `failed at serial ${serial}` } : {}),
    });
  }
  return out;
}
