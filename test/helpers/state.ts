import { LocalBackend, type StateEntry } from '../../src/state/index.ts';

/** Lock, load (repairing), save `entries`, unlock: one apply's worth of state traffic. */
export async function saveOnce(file: string, entries: StateEntry[]): Promise<void> {
  const b = new LocalBackend({ path: file });
  await b.lock({ operation: 'test' });
  try {
    const s = await b.load({ repair: true });
    await b.save(entries, s.serial);
  } finally {
    await b.unlock();
  }
}
