/** Levenshtein distance over the UTF-8 bytes of both strings. */
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
 * The candidate closest to `word` when it is close enough to be a typo of it (distance below
 * half the word's length + 1; ties go to the first candidate given), else undefined.
 */
export function closestWord(word: string, candidates: Iterable<string>): string | undefined {
  const limit = Math.floor(Buffer.byteLength(word, 'utf8') / 2) + 1;
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    if (c === word) continue;
    const d = byteLevenshtein(word, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return bestDistance < limit ? best : undefined;
}
