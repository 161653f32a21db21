// Many appends fall in the same millisecond under load, and toISOString costs about a
// microsecond: the last one's text is kept.
let lastAt = Number.NaN;
let last = '';

/** `ms` (a Date.now() value) as an ISO 8601 timestamp. */
export function isoAt(ms: number): string {
  if (ms !== lastAt) {
    last = new Date(ms).toISOString();
    lastAt = ms;
  }
  return last;
}
