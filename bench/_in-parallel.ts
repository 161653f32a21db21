/** Calls fn(0) .. fn(total - 1), `workers` calls in flight at a time. */
export async function inParallel(total: number, workers: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (next < total) await fn(next++);
    }),
  );
}
