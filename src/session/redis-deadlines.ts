/**
 * What the Redis client is handed as a command's `abortSignal`: aborted once, when its group's
 * time is up, it tells the client to drop the group's commands still waiting to be written.
 *
 * Not an AbortSignal: the client only reads `aborted` and adds and removes one `abort` listener
 * per command (node-redis 6.3, pinned exactly in package.json; test/session/redis-store.test.ts
 * checks that a command still unwritten at its deadline is never sent), and on an AbortSignal
 * each add and remove costs what a Set's do several times over: measured without HTTP, a
 * Redis-store turn's own CPU fell by about a tenth with this in its place.
 */
export class DeadlineSignal {
  aborted = false;
  private readonly listeners = new Set<() => void>();

  addEventListener(type: string, listener: () => void): void {
    if (type === 'abort' && !this.aborted) this.listeners.add(listener);
  }

  removeEventListener(type: string, listener: () => void): void {
    if (type === 'abort') this.listeners.delete(listener);
  }

  /** Marks it aborted and calls each listener once. */
  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    const listeners = [...this.listeners];
    this.listeners.clear();
    for (const listener of listeners) listener();
  }

  /** As the client's command options type it. */
  asAbortSignal(): AbortSignal {
    return this as unknown as AbortSignal;
  }
}

interface Group {
  opened: number;
  signal: DeadlineSignal;
  pending: Set<(err: unknown) => void>;
}

/**
 * The deadlines of calls in flight, kept in groups by the moment they started: one timer and one
 * signal per slice of time instead of a timer, a signal and a race per call. A call gets between
 * `ms` and `ms` plus one slice. When a group's time is up its signal aborts (the client drops the
 * commands of it still waiting to be written) and its calls still pending fail.
 */
export class DeadlineGroups {
  private readonly ms: number;
  private readonly slice: number;
  private current: Group | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(ms: number) {
    this.ms = ms;
    this.slice = Math.max(1, Math.ceil(ms / 10));
  }

  /** Adds a call to the open group: `fail` is called if the group's time is up first. Delete it from the set returned when the call ends. */
  join(fail: (err: unknown) => void): Set<(err: unknown) => void> {
    const group = this.open();
    group.pending.add(fail);
    return group.pending;
  }

  /** The signal of the open group, for the commands of a call that joined it. */
  signal(): DeadlineSignal {
    return this.open().signal;
  }

  /** Clears the timers (the store is closing; its connection goes with them). */
  stop(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.current = undefined;
  }

  private open(): Group {
    const now = performance.now();
    const open = this.current;
    if (open !== undefined && now - open.opened < this.slice) return open;
    const group: Group = { opened: now, signal: new DeadlineSignal(), pending: new Set() };
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (this.current === group) this.current = undefined;
      const err = new Error(`redis did not answer within ${this.ms} ms`);
      group.signal.abort();
      for (const fail of group.pending) fail(err);
      group.pending.clear();
    }, this.ms + this.slice);
    // A group outlives its calls; a call still waiting keeps the process alive through its connection.
    timer.unref();
    this.timers.add(timer);
    this.current = group;
    return group;
  }
}
