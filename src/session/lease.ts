import { randomUUID } from 'node:crypto';
import { errorMessage } from '../errors.ts';
import { LazyAbortController } from '../lazy-abort.ts';
import { logger } from '../log.ts';
import { FencedAppendError, IdempotencyConflictError, SessionBusyError, TurnSupersededError } from './errors.ts';
import type { AppendOptions, BeginTurnRequest, BusyMode, IdempotencyRecord, MessagePage, MessageRange, SessionInfo, SessionStore } from './types.ts';

/** How a turn asks for its session (DESIGN.md "Sessions": one writer per session). */
export interface TurnRequest {
  mode: BusyMode;
  /** The lease lives this long; it is renewed every third of it while the turn runs. */
  leaseTtlMs: number;
  /** enqueue: the longest wait for the turn before SessionBusyError. */
  waitMs: number;
  idempotency?: { key: string; requestHash: string };
  range?: MessageRange;
  /**
   * Aborted when the caller went away: stop waiting (and leave the queue). Its signal is read only
   * when the session is busy (a lazily made signal stays unmade for a turn that does not wait).
   */
  cancel?: { readonly signal: AbortSignal };
  /**
   * Called with the session's info on every answer, before anything of it is used; throwing
   * (a session of another agent or owner) gives up the lease or the place and rethrows.
   */
  check?: (info: SessionInfo) => void;
}

export type TurnStart =
  | { kind: 'turn'; lease: TurnLease; info: SessionInfo; page: MessagePage }
  /** The key's turn is stored already: its response, without running anything. */
  | { kind: 'replay'; response: string };

// Polls of a waiting turn start fast and back off to this; a turn ending in this process wakes
// its next local waiter at once, so only hand-overs between processes wait for a poll.
const FIRST_POLL_MS = 2;
const MAX_POLL_MS = 25;
/** A waiter that has not asked for this long (it died, or its process froze) loses its place. */
export const WAITER_TTL_MS = 5000;

/** What this process knows about one session: its waiters in arrival order, and its running turns. */
interface LocalSession {
  waiters: Array<() => void>;
  running: Map<string, TurnLease>;
}

const locals = new WeakMap<SessionStore, Map<string, LocalSession>>();

function localOf(store: SessionStore, id: string): LocalSession {
  let byId = locals.get(store);
  if (byId === undefined) locals.set(store, (byId = new Map()));
  let local = byId.get(id);
  if (local === undefined) byId.set(id, (local = { waiters: [], running: new Map() }));
  return local;
}

function forgetIfIdle(store: SessionStore, id: string, local: LocalSession): void {
  if (local.waiters.length === 0 && local.running.size === 0) locals.get(store)?.delete(id);
}

/**
 * The running leases by renewal period, with one interval timer per period for all of them
 * instead of one per turn (a timer made and cleared for every turn showed in the profile). A
 * lease taken just before a tick is renewed early, which is harmless; none waits longer than its
 * period, as with a timer of its own. A period's timer stays once made (unref'd, it holds no
 * process open): under load the set empties and fills again between most turns, and making the
 * timer again each time cost what sharing it saved. A process has one period or a few.
 */
class SharedRenewals {
  private readonly byPeriod = new Map<number, Set<TurnLease>>();

  add(lease: TurnLease, periodMs: number): void {
    let leases = this.byPeriod.get(periodMs);
    if (leases === undefined) {
      leases = new Set<TurnLease>();
      setInterval(renewAll, periodMs, leases).unref();
      this.byPeriod.set(periodMs, leases);
    }
    leases.add(lease);
  }

  delete(lease: TurnLease, periodMs: number): void {
    this.byPeriod.get(periodMs)?.delete(lease);
  }
}

function renewAll(leases: Set<TurnLease>): void {
  for (const lease of leases) lease.renew();
}

const renewals = new SharedRenewals();

/**
 * Takes the session's turn: at once, after waiting in arrival order (enqueue), or by cancelling
 * the running turn (interrupt). A request whose idempotency key already has a stored turn gets
 * that turn's response instead (also after waiting for it). Throws SessionBusyError,
 * IdempotencyConflictError, SessionNotFoundError, or the caller's abort reason.
 */
export async function beginTurn(store: SessionStore, sessionId: string, req: TurnRequest): Promise<TurnStart> {
  // randomUUID draws from a cached entropy pool: a randomBytes call per turn showed in profiles.
  const token = randomUUID();
  const started = Date.now();
  // A turn joins this process's waiters of the session only once it has to wait: most find it free.
  let local: LocalSession | undefined;
  let wake: (() => void) | undefined;
  const waiter = (): void => wake?.();
  try {
    let delay = FIRST_POLL_MS;
    // An interrupt takes the session only once `check` accepted it: the first ask never steals.
    let checked = req.check === undefined;
    for (;;) {
      const probing = req.mode === 'interrupt' && !checked;
      const ask: BeginTurnRequest = { token, leaseTtlMs: req.leaseTtlMs, mode: probing ? 'reject' : req.mode, waiterTtlMs: WAITER_TTL_MS };
      if (req.idempotency !== undefined) ask.idempotency = req.idempotency;
      if (req.range !== undefined) ask.range = req.range;
      const r = await store.beginTurn(sessionId, ask);
      if (req.check !== undefined) {
        try {
          req.check(r.info);
        } catch (err) {
          if (r.status === 'acquired' || (r.status === 'busy' && req.mode === 'enqueue')) await leaveQueue(store, sessionId, token);
          throw err;
        }
        checked = true;
      }
      if (probing && r.status === 'busy') continue;
      if (r.status === 'replay') return { kind: 'replay', response: r.response };
      if (r.status === 'conflict') throw new IdempotencyConflictError(req.idempotency?.key ?? '');
      if (r.status === 'acquired') {
        const running = local ?? localOf(store, sessionId);
        if (r.interrupted !== undefined) running.running.get(r.interrupted)?.lose(new TurnSupersededError(sessionId, 'interrupted'));
        const lease = new TurnLease(store, sessionId, token, r.fence, req.leaseTtlMs, running);
        return { kind: 'turn', lease, info: r.info, page: r.page };
      }
      const waited = Date.now() - started;
      const signal = req.cancel?.signal;
      if (req.mode !== 'enqueue' || waited >= req.waitMs || signal?.aborted === true) {
        if (req.mode === 'enqueue') await leaveQueue(store, sessionId, token);
        if (signal?.aborted === true) throw signal.reason;
        throw new SessionBusyError(sessionId, r.retryAfterMs, req.mode === 'enqueue' ? waited : 0);
      }
      if (local === undefined) {
        local = localOf(store, sessionId);
        local.waiters.push(waiter);
      }
      const woken = await pause(Math.min(delay, req.waitMs - waited), signal, (fn) => (wake = fn));
      delay = woken ? FIRST_POLL_MS : Math.min(delay * 2, MAX_POLL_MS);
    }
  } finally {
    if (local !== undefined) {
      local.waiters.splice(local.waiters.indexOf(waiter), 1);
      forgetIfIdle(store, sessionId, local);
    }
  }
}

/** Waits `ms`, or until woken (true) or aborted. */
function pause(ms: number, signal: AbortSignal | undefined, onWake: (fn: () => void) => void): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (woken: boolean): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', aborted);
      onWake(() => undefined);
      resolve(woken);
    };
    const aborted = (): void => done(false);
    const timer = setTimeout(() => done(false), ms);
    signal?.addEventListener('abort', aborted, { once: true });
    onWake(() => done(true));
  });
}

/** A waiter that gives up leaves the queue (and a lease it just took); should that fail, both expire by themselves. */
async function leaveQueue(store: SessionStore, sessionId: string, token: string): Promise<void> {
  try {
    await store.releaseLease(sessionId, token);
  } catch (err) {
    logger('session').warn({ session_id: sessionId, err: errorMessage(err) }, 'could not leave the turn queue; the place expires by itself');
  }
}

/**
 * The lease of one running turn. Renewed every third of its TTL; when a renewal finds it gone
 * (interrupted, or expired and taken), the turn is lost: `lostReason` is a TurnSupersededError,
 * and `signal` and the controller given to `abortOnLoss` abort with it. The turn ends with
 * `appendOptions` in its append (which checks the fence and releases the lease in the same step)
 * followed by `finished`, or with `release` when nothing is stored.
 */
export class TurnLease {
  readonly fence: number;
  readonly token: string;
  readonly sessionId: string;
  private readonly store: SessionStore;
  // Its signal is made only when asked for: a turn links its own controller instead
  // (abortOnLoss), and a signal costs about as much as the rest of the lease together.
  private readonly onLoss = new LazyAbortController();
  private linked: AbortController | undefined;
  private lost: TurnSupersededError | undefined;
  private readonly local: LocalSession;
  private readonly ttlMs: number;
  private readonly renewEveryMs: number;
  private done = false;
  /** The turn's append is on its way (see appendOptions). */
  private appending = false;

  constructor(store: SessionStore, sessionId: string, token: string, fence: number, ttlMs: number, local: LocalSession) {
    this.store = store;
    this.sessionId = sessionId;
    this.token = token;
    this.fence = fence;
    this.local = local;
    local.running.set(token, this);
    this.ttlMs = ttlMs;
    this.renewEveryMs = Math.max(1, Math.floor(ttlMs / 3));
    renewals.add(this, this.renewEveryMs);
  }

  /** Aborted when the turn lost its session; the reason is a TurnSupersededError. */
  get signal(): AbortSignal {
    return this.onLoss.signal;
  }

  /** Why the turn lost its session, once it has. */
  get lostReason(): TurnSupersededError | undefined {
    return this.lost;
  }

  /** Abort `controller` (the turn's own) when the session is lost, at once if it is already; undefined unlinks it. */
  abortOnLoss(controller: AbortController | undefined): void {
    this.linked = controller;
    if (controller !== undefined && this.lost !== undefined) controller.abort(this.lost);
  }

  /** The turn lost its session (interrupted by a later turn, or its lease gone). */
  lose(reason: TurnSupersededError): void {
    if (this.lost !== undefined) return;
    this.lost = reason;
    this.onLoss.abort(reason);
    this.linked?.abort(reason);
  }

  /**
   * The options of the turn's append, asked for as it is sent. From then on a renewal that finds
   * the lease gone has met that append's release, not a loss (until `finished`, which comes after
   * the append's answer and may well come after a renewal's); an append refused instead says so
   * itself (FencedAppendError).
   */
  appendOptions(idempotency?: IdempotencyRecord): AppendOptions {
    this.appending = true;
    return { fence: this.fence, leaseToken: this.token, ...(idempotency === undefined ? {} : { idempotency }) };
  }

  /** After the append that released the lease (or refused it: FencedAppendError). */
  finished(): void {
    if (this.done) return;
    this.done = true;
    renewals.delete(this, this.renewEveryMs);
    this.local.running.delete(this.token);
    // The next waiter of this process asks at once instead of at its next poll.
    this.local.waiters[0]?.();
    forgetIfIdle(this.store, this.sessionId, this.local);
  }

  /** Gives the session up without storing anything. A failure is logged: the lease expires by itself. */
  async release(): Promise<void> {
    if (this.done) return;
    try {
      await this.store.releaseLease(this.sessionId, this.token);
    } catch (err) {
      logger('session').warn({ session_id: this.sessionId, err: errorMessage(err) }, 'could not release the turn lease; it expires with its TTL');
    } finally {
      this.finished();
    }
  }

  /** Called by the shared renewal timer, at least once every third of the TTL. */
  renew(): void {
    this.store.renewLease(this.sessionId, this.token, this.ttlMs).then(
      (held) => {
        if (held || this.done || this.appending) return;
        logger('session').warn({ session_id: this.sessionId, fence: this.fence }, 'turn lease lost: the turn is cancelled and will not be stored');
        this.lose(new TurnSupersededError(this.sessionId, 'lease_lost'));
      },
      (err: unknown) => {
        // The store is unreachable: keep the turn; its append's fence check decides.
        logger('session').warn({ session_id: this.sessionId, err: errorMessage(err) }, 'could not renew the turn lease');
      },
    );
  }
}

/** FencedAppendError as what the caller of a turn sees: the turn lost its session. */
export function supersededBy(err: unknown): TurnSupersededError | undefined {
  if (err instanceof TurnSupersededError) return err;
  if (err instanceof FencedAppendError) return new TurnSupersededError(err.sessionId, 'lease_lost');
  return undefined;
}

/** Idempotency records of requests without a session (stateless invoke) are kept this long. */
export const REQUEST_RECORD_TTL_SECONDS = 86_400;

export type RequestStart =
  | { kind: 'claim'; claim: ClaimedRequest }
  | { kind: 'replay'; response: string };

/**
 * Claims an idempotency key for a request without a session: the first attempt runs; a retry
 * with the same request waits while it runs (reject: SessionBusyError) and then gets its
 * response, or runs itself when the first failed; another request under the key is
 * IdempotencyConflictError. `scope` is the agent.
 */
export async function claimRequest(
  store: SessionStore,
  scope: string,
  req: { key: string; requestHash: string; leaseTtlMs: number; waitMs: number; mode: BusyMode; cancel?: TurnRequest['cancel'] },
): Promise<RequestStart> {
  const token = randomUUID();
  const started = Date.now();
  let delay = FIRST_POLL_MS;
  for (;;) {
    const r = await store.claimRequest(scope, { key: req.key, requestHash: req.requestHash, token, ttlMs: req.leaseTtlMs });
    if (r.status === 'claimed') return { kind: 'claim', claim: new ClaimedRequest(store, scope, req.key, token, req.leaseTtlMs) };
    if (r.status === 'replay') return { kind: 'replay', response: r.response };
    if (r.status === 'conflict') throw new IdempotencyConflictError(req.key);
    const waited = Date.now() - started;
    // Read only now that the first attempt is still running (see TurnRequest.cancel).
    const signal = req.cancel?.signal;
    if (signal?.aborted === true) throw signal.reason;
    if (req.mode === 'reject' || waited >= req.waitMs) throw new SessionBusyError(`(request ${req.key})`, r.retryAfterMs, req.mode === 'reject' ? 0 : waited);
    await pause(Math.min(delay, req.waitMs - waited), signal, () => undefined);
    delay = Math.min(delay * 2, MAX_POLL_MS);
  }
}

/** A claimed idempotency key of a running request without a session: renewed until completed or released. */
export class ClaimedRequest {
  private readonly renewer: NodeJS.Timeout;

  constructor(
    private readonly store: SessionStore,
    private readonly scope: string,
    private readonly key: string,
    private readonly token: string,
    ttlMs: number,
  ) {
    this.renewer = setInterval(() => {
      this.store.renewRequest(scope, key, token, ttlMs).then(
        (held) => {
          if (!held) logger('session').warn({ agent: scope, key }, 'idempotency claim lost: a retry may run this request again');
        },
        (err: unknown) => logger('session').warn({ agent: scope, key, err: errorMessage(err) }, 'could not renew the idempotency claim'),
      );
    }, Math.max(1, Math.floor(ttlMs / 3)));
    this.renewer.unref();
  }

  /** Stores the response for retries. A failure reaches the caller: the answer was not made safe to retry. */
  async complete(response: string): Promise<void> {
    clearInterval(this.renewer);
    await this.store.completeRequest(this.scope, this.key, this.token, response, REQUEST_RECORD_TTL_SECONDS);
  }

  /** The request failed: a retry runs it. A failure is logged; the claim expires by itself. */
  async release(): Promise<void> {
    clearInterval(this.renewer);
    try {
      await this.store.releaseRequest(this.scope, this.key, this.token);
    } catch (err) {
      logger('session').warn({ agent: this.scope, key: this.key, err: errorMessage(err) }, 'could not release the idempotency claim; it expires by itself');
    }
  }
}
