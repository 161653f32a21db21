import { AgentspecError, errorMessage } from '../errors.ts';
import { logger } from '../log.ts';
import { AgentConfigError, InvalidVariableError, MissingVariableError, VariableTooLargeError } from './agents.ts';
import { ClientGoneError, RequestTimeoutError } from './agent-loop.ts';
import { MissingApiKeyError, ProviderError } from './providers/index.ts';
import {
  IdempotencyConflictError,
  InvalidMessageError,
  InvalidMessageRangeError,
  SessionBusyError,
  SessionNotFoundError,
  SessionStoreUnavailableError,
} from '../session/errors.ts';
import { supersededBy } from '../session/lease.ts';
import { SessionLimitError } from '../session/memory-store.ts';
import { SessionMigrationError } from '../session/original-layout.ts';
import { SessionNotDurableError } from '../session/durability.ts';
import { limitFlag, type RuntimeLimits } from './defaults.ts';
import { AnswerRejectedError } from './answer-rules.ts';
import { ExpressionError, OnInputError } from './on-input/index.ts';

/** Codes of the JSON error body `{error, message}`; clients branch on them. */
export type ErrorCode =
  | 'not_found'
  | 'invalid_request'
  | 'unauthorized'
  | 'forbidden'
  | 'rate_limited'
  | 'payload_too_large'
  | 'limit_exceeded'
  | 'unsupported_media_type'
  | 'unavailable'
  | 'upstream_error'
  | 'timeout'
  | 'internal_error'
  /** The model's answer failed an error-severity `validate` rule after its re-asks (422). */
  | 'answer_rejected'
  /** An expression of the agent's `on input` or `validate` rules failed on this turn (422). */
  | 'expression_error'
  /** The agent's `on input` could not finish: a bound was reached or a delegation loops (500). */
  | 'on_input_error'
  /** Another turn holds the session (reject, or enqueue after the wait limit); see Retry-After. */
  | 'session_busy'
  /** The idempotency key was used with another request body. */
  | 'idempotency_conflict'
  /** The turn was cancelled unsaved: interrupted by a newer message, or its lease was lost. */
  | 'turn_superseded'
  /** Never seen by anyone: the client is gone. Logged, so the access log says what happened. */
  | 'client_closed_request';

/** An error with its HTTP status and wire code; anything else thrown becomes one via toHttpError. */
export class HttpError extends AgentspecError {
  readonly statusCode: number;
  readonly errorCode: ErrorCode;
  /** Set on 500s: the id the log line of this failure carries too. */
  readonly requestId: string | undefined;
  /** Response headers that go with the error (Retry-After). */
  readonly headers: Record<string, string> | undefined;

  constructor(statusCode: number, errorCode: ErrorCode, message: string, cause?: unknown, requestId?: string, headers?: Record<string, string>) {
    super(`E_HTTP_${errorCode.toUpperCase()}`, message, { cause });
    this.statusCode = statusCode;
    this.errorCode = errorCode;
    this.requestId = requestId;
    this.headers = headers;
  }

  body(): { error: ErrorCode; message: string; request_id?: string } {
    return { error: this.errorCode, message: this.message, ...(this.requestId === undefined ? {} : { request_id: this.requestId }) };
  }
}

export const notFound = (message: string): HttpError => new HttpError(404, 'not_found', message);
export const invalidRequest = (message: string): HttpError => new HttpError(400, 'invalid_request', message);

/**
 * A request over one of the runtime's limits: 413 for a size, 409 for a count that is full. The
 * message names the field, the limit and the flag that raises it.
 */
export function overLimit(field: string, limit: keyof RuntimeLimits, max: number, actual: number, unit: 'bytes' | 'keys' | 'messages' | 'sessions'): HttpError {
  const size = unit === 'bytes' || unit === 'keys';
  const message = size
    ? `${field}: ${actual} ${unit} is over the limit of ${max} (${limit}, raised with ${limitFlag(limit)})`
    : `${field}: the limit of ${max} ${unit} is reached (${limit}, raised with ${limitFlag(limit)})`;
  return new HttpError(size ? 413 : 409, size ? 'payload_too_large' : 'limit_exceeded', message);
}

/**
 * Map anything thrown while serving a request to its HTTP status and code. Only what a caller
 * can act on reaches the body: provider failures say which provider and what status, unexpected
 * errors only a request id; the details are logged with that id.
 */
export function toHttpError(err: unknown, requestId?: string): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof ClientGoneError) return new HttpError(499, 'client_closed_request', err.message, err);
  if (err instanceof MissingVariableError || err instanceof InvalidVariableError) return invalidRequest(err.message);
  if (err instanceof VariableTooLargeError) return overLimit(`variables.${err.variable}`, 'maxVariableBytes', err.limit, err.bytes, 'bytes');
  if (err instanceof MissingApiKeyError) return new HttpError(503, 'unavailable', err.message, err);
  if (err instanceof RequestTimeoutError) return new HttpError(504, 'timeout', err.message, err);
  if (err instanceof ProviderError) {
    // The provider's own text can reflect keys or name internal hosts: it goes to the log only.
    logger('runtime').warn({ request_id: requestId, provider: err.provider, status: err.status, err: err.message }, 'model provider failed');
    const status = err.status === undefined ? 'no HTTP answer' : `HTTP ${err.status}`;
    return new HttpError(502, 'upstream_error', `model provider "${err.provider}" failed (${status})`, err);
  }
  // --- answer rules and on input (3.0) ---
  if (err instanceof AnswerRejectedError) return new HttpError(422, 'answer_rejected', err.message, err);
  if (err instanceof ExpressionError || err instanceof OnInputError) {
    logger('runtime').warn({ request_id: requestId, agent: err.agent, where: err.where, code: err.code, err: err.message }, 'agent logic failed');
    return err instanceof ExpressionError ? new HttpError(422, 'expression_error', err.message, err) : new HttpError(500, 'on_input_error', err.message, err, requestId);
  }
  if (err instanceof SessionNotFoundError) return notFound(err.message);
  if (err instanceof SessionBusyError) {
    return new HttpError(409, 'session_busy', err.message, err, undefined, { 'retry-after': String(Math.ceil(err.retryAfterMs / 1000)) });
  }
  if (err instanceof IdempotencyConflictError) return new HttpError(409, 'idempotency_conflict', err.message, err);
  const superseded = supersededBy(err);
  if (superseded !== undefined) return new HttpError(409, 'turn_superseded', superseded.message, err);
  if (err instanceof SessionLimitError) return overLimit('session', 'maxSessionsPerAgent', err.limit, err.limit, 'sessions');
  if (err instanceof SessionStoreUnavailableError) {
    logger('runtime').warn({ request_id: requestId, err: err.message }, 'session store unavailable');
    return new HttpError(503, 'unavailable', 'the session store is unavailable; nothing from this call was confirmed, retry later', err);
  }
  // Not confirmed on disk, or another runtime is still moving the session: nothing a retry later cannot fix.
  if (err instanceof SessionNotDurableError || err instanceof SessionMigrationError) return new HttpError(503, 'unavailable', err.message, err);
  if (err instanceof InvalidMessageRangeError) return invalidRequest(err.message);
  if (err instanceof InvalidMessageError) return invalidRequest(err.message);
  const status = (err as { statusCode?: unknown } | null)?.statusCode;
  if (!(err instanceof AgentConfigError) && typeof status === 'number' && status >= 400 && status < 500) {
    // Fastify's own errors (body parsing, size limit, content type) carry their status.
    if (status === 413) return new HttpError(413, 'payload_too_large', `request body is too large: ${errorMessage(err)}`, err);
    if (status === 415) return new HttpError(415, 'unsupported_media_type', `${errorMessage(err)}: send Content-Type: application/json`, err);
    return invalidRequest(errorMessage(err));
  }
  logger('runtime').error({ err, request_id: requestId }, 'request failed');
  return new HttpError(500, 'internal_error', `internal error; the server log has the details under request id ${requestId ?? '(none)'}`, err, requestId);
}
