import { AgentspecError } from '../errors.ts';

/** The session does not exist (never created, deleted, or expired). */
export class SessionNotFoundError extends AgentspecError {
  readonly sessionId: string;

  constructor(sessionId: string) {
    super('E_SESSION_NOT_FOUND', `session ${sessionId} does not exist (it may have expired or been deleted); create a new session`);
    this.sessionId = sessionId;
  }
}

/**
 * The session store cannot be reached (down, restarting, timing out). Nothing from the failed
 * call is claimed as saved. Offline or refused: nothing reached the store. Dropped mid-call or
 * timed out: the store may have applied it, so a retried append can store its messages twice.
 */
export class SessionStoreUnavailableError extends AgentspecError {
  readonly store: string;

  constructor(store: string, cause: unknown) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    super(
      'E_SESSION_STORE_UNAVAILABLE',
      `the ${store} session store is unavailable (${detail}); the operation was not confirmed, retry when the store is reachable`,
      { cause },
    );
    this.store = store;
  }
}

/** The store answered but refused the operation in a way that is not an outage (a bug or bad data). */
export class SessionStoreError extends AgentspecError {
  constructor(message: string, cause?: unknown) {
    super('E_SESSION_STORE', message, { cause });
  }
}

/** A message handed to appendMessages does not have the Message shape; nothing was stored. */
export class InvalidMessageError extends AgentspecError {
  readonly index: number;

  constructor(index: number, reason: string) {
    super('E_SESSION_INVALID_MESSAGE', `message ${index} is not a valid message: ${reason}; nothing was stored`);
    this.index = index;
  }
}

/** offset/limit of a history page are not non-negative integers. */
export class InvalidMessageRangeError extends AgentspecError {
  constructor(reason: string) {
    super('E_SESSION_INVALID_RANGE', `invalid message range: ${reason}`);
  }
}

/** The stored history of a session cannot be read as messages at all (not merely one bad element). */
export class SessionCorruptError extends AgentspecError {
  readonly sessionId: string;

  constructor(sessionId: string, detail: string) {
    super('E_SESSION_CORRUPT', `the stored history of session ${sessionId} is corrupt (${detail}); inspect or delete the session`);
    this.sessionId = sessionId;
  }
}

/**
 * An append made under a fencing token that is no longer the session's: another turn took the
 * session since (the lease expired while this turn was frozen or cut off, or it was interrupted).
 * Nothing was stored.
 */
export class FencedAppendError extends AgentspecError {
  readonly sessionId: string;
  readonly fence: number;
  readonly currentFence: number;

  constructor(sessionId: string, fence: number, currentFence: number) {
    super(
      'E_SESSION_FENCED',
      `session ${sessionId}: this turn (fence ${fence}) lost the session to a later turn (fence ${currentFence}); its messages were not stored`,
    );
    this.sessionId = sessionId;
    this.fence = fence;
    this.currentFence = currentFence;
  }
}

/** An append carries an idempotency key the session already stored a turn under; nothing was stored. */
export class IdempotencyKeyUsedError extends AgentspecError {
  readonly sessionId: string;
  readonly key: string;
  /** The response stored with the earlier turn. */
  readonly response: string;

  constructor(sessionId: string, key: string, response: string) {
    super('E_SESSION_IDEMPOTENCY_KEY_USED', `session ${sessionId} already stored a turn under idempotency key ${JSON.stringify(key)}; nothing was stored`);
    this.sessionId = sessionId;
    this.key = key;
    this.response = response;
  }
}

/** Another turn holds the session: refused at once (reject) or after waiting as long as allowed (enqueue). */
export class SessionBusyError extends AgentspecError {
  readonly sessionId: string;
  /** When trying again has a chance: the time left on the running turn's lease (at least 1 s). */
  readonly retryAfterMs: number;
  /** How long this request waited for its turn (0 under reject). */
  readonly waitedMs: number;

  constructor(sessionId: string, retryAfterMs: number, waitedMs: number) {
    const why = waitedMs > 0 ? `another turn still held it after waiting ${waitedMs} ms` : 'another turn is running';
    super('E_SESSION_BUSY', `session ${sessionId} is busy: ${why}; retry later or send on_busy "enqueue"`);
    this.sessionId = sessionId;
    this.retryAfterMs = Math.max(1000, retryAfterMs);
    this.waitedMs = waitedMs;
  }
}

/** An idempotency key that was already used with a different request body. */
export class IdempotencyConflictError extends AgentspecError {
  readonly key: string;

  constructor(key: string) {
    super('E_IDEMPOTENCY_CONFLICT', `idempotency key ${JSON.stringify(key)} was already used with a different request; use a new key for a new message`);
    this.key = key;
  }
}

/**
 * A running turn lost its session before it could store anything: a later turn interrupted it,
 * or its lease expired (the process was frozen or cut off) and another turn took the session.
 */
export class TurnSupersededError extends AgentspecError {
  readonly sessionId: string;
  readonly reason: 'interrupted' | 'lease_lost';

  constructor(sessionId: string, reason: 'interrupted' | 'lease_lost') {
    const why = reason === 'interrupted' ? 'a newer message interrupted it' : 'its lease expired and a later turn took the session';
    super('E_TURN_SUPERSEDED', `the turn on session ${sessionId} was cancelled (${why}); nothing of it was stored`);
    this.sessionId = sessionId;
    this.reason = reason;
  }
}
