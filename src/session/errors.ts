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
