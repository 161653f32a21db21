/**
 * One signal aborted when any of `signals` aborts, with the first one's reason, and a release that
 * unhooks it. Not AbortSignal.any: in Node 20 that keeps weak references the GC must sweep on the
 * hot path, where one controller and plain listeners, removed when the turn ends, cost nothing.
 */
export function linkedSignal(signals: readonly (AbortSignal | undefined)[]): {
  signal: AbortSignal | undefined;
  /** The controller behind `signal` when one was made (two or more signals). */
  controller?: AbortController;
  release: () => void;
} {
  const live = signals.filter((s): s is AbortSignal => s !== undefined);
  if (live.length < 2) return { signal: live[0], release: () => undefined };
  const controller = new AbortController();
  const hooks = live.map((s) => {
    const onAbort = (): void => controller.abort(s.reason);
    return { s, onAbort };
  });
  const release = (): void => {
    for (const { s, onAbort } of hooks) s.removeEventListener('abort', onAbort);
  };
  const first = live.find((s) => s.aborted);
  if (first !== undefined) controller.abort(first.reason);
  else for (const { s, onAbort } of hooks) s.addEventListener('abort', onAbort, { once: true });
  return { signal: controller.signal, controller, release };
}
