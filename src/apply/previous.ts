import { readFileSync } from 'node:fs';
import { snapshotPath } from '../adapters/index.ts';
import { errorMessage } from '../errors.ts';
import type { Attributes, IRDocument } from '../ir/types.ts';
import { logger } from '../log.ts';
import type { StateEntry } from '../state/types.ts';

/**
 * Attributes as last applied, read from the package's IR snapshot. A resource is only used when
 * its hash matches the recorded entry, so a snapshot of an attempt that never completed cannot
 * pass for the applied version.
 */
export function previousAttributes(stateDir: string, packages: readonly string[], entries: readonly StateEntry[]): Map<string, Attributes> {
  const hashes = new Map(entries.map((e) => [e.fqn, e.hash]));
  const out = new Map<string, Attributes>();
  for (const pkg of packages) {
    const file = snapshotPath(stateDir, pkg);
    let doc: IRDocument;
    try {
      doc = JSON.parse(readFileSync(file, 'utf8')) as IRDocument;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        logger('apply').debug({ path: file, err: errorMessage(err) }, 'snapshot unreadable; updates will not list attribute changes');
      }
      continue;
    }
    for (const r of doc.resources ?? []) {
      if (hashes.get(r.fqn) === r.hash) out.set(r.fqn, r.attributes);
    }
  }
  return out;
}
