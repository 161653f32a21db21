import { compareBytes } from '../ir/hash.ts';
import { byteLevenshtein } from '../lang/suggest.ts';

export { byteLevenshtein };

/**
 * The hint for an unresolved name: `did you mean "N"?` for the closest candidate when it is close
 * enough (distance < byteLength(name)/2 + 1, ties to the alphabetically first), otherwise the
 * sorted list of what exists; undefined when nothing of that kind exists at all.
 */
export function suggestName(name: string, candidates: Iterable<string>): string | undefined {
  const names = [...new Set(candidates)].sort(compareBytes);
  if (names.length === 0) return undefined;
  const limit = Math.floor(Buffer.byteLength(name, 'utf8') / 2) + 1;
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of names) {
    const d = byteLevenshtein(name, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  if (best !== undefined && bestDistance < limit) return `did you mean "${best}"?`;
  return `available: ${names.join(', ')}`;
}
