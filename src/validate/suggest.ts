import { compareBytes } from '../ir/hash.ts';

/** Levenshtein distance over the UTF-8 bytes of both strings (as the original measured it). */
export function byteLevenshtein(a: string, b: string): number {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  if (x.length === 0) return y.length;
  if (y.length === 0) return x.length;
  let prev = new Array<number>(y.length + 1);
  let cur = new Array<number>(y.length + 1);
  for (let j = 0; j <= y.length; j++) prev[j] = j;
  for (let i = 1; i <= x.length; i++) {
    cur[0] = i;
    for (let j = 1; j <= y.length; j++) {
      const cost = x[i - 1] === y[j - 1] ? 0 : 1;
      cur[j] = Math.min((prev[j] as number) + 1, (cur[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[y.length] as number;
}

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
