/**
 * What a run is cancelled through: whether it is over, and a signal for whatever must be woken
 * when it is (a fetch, a child process, a wait).
 */
export interface Cancel {
  readonly aborted: boolean;
  readonly signal: AbortSignal;
}

/**
 * An AbortController whose AbortSignal is made only when something asks for it. A signal is an
 * EventTarget: building one costs about as much as the rest of a stateless echo turn, and most
 * turns never hand theirs to anything (the echo model, no tools, a session that is not busy).
 * Aborted before anyone asked, the signal is made already aborted with the same reason.
 */
export class LazyAbortController implements AbortController, Cancel {
  private controller: AbortController | undefined;
  private abortedWith: { reason: unknown } | undefined;

  get aborted(): boolean {
    return this.abortedWith !== undefined;
  }

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.abortedWith !== undefined) this.controller.abort(this.abortedWith.reason);
    }
    return this.controller.signal;
  }

  abort(reason?: unknown): void {
    if (this.abortedWith !== undefined) return;
    // AbortController's own default reason, so a signal made later holds what an early one would.
    const given = reason ?? new DOMException('This operation was aborted', 'AbortError');
    this.abortedWith = { reason: given };
    this.controller?.abort(given);
  }
}
