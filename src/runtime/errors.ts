import { AgentspecError, errorMessage } from '../errors.ts';
import { logger } from '../log.ts';
import { AgentConfigError, MissingVariableError } from './agents.ts';
import { ClientGoneError, RequestTimeoutError } from './agent-loop.ts';
import { MissingApiKeyError, ProviderError } from './providers/index.ts';
import { InvalidMessageError, InvalidMessageRangeError, SessionNotFoundError, SessionStoreUnavailableError } from '../session/index.ts';

/** Codes of the JSON error body `{error, message}`; clients branch on them. */
export type ErrorCode =
  | 'not_found'
  | 'invalid_request'
  | 'unauthorized'
  | 'rate_limited'
  | 'payload_too_large'
  | 'unavailable'
  | 'upstream_error'
  | 'timeout'
  | 'internal_error'
  /** Never seen by anyone: the client is gone. Logged, so the access log says what happened. */
  | 'client_closed_request';

/** An error with its HTTP status and wire code; anything else thrown becomes one via toHttpError. */
export class HttpError extends AgentspecError {
  readonly statusCode: number;
  readonly errorCode: ErrorCode;

  constructor(statusCode: number, errorCode: ErrorCode, message: string, cause?: unknown) {
    super(`E_HTTP_${errorCode.toUpperCase()}`, message, { cause });
    this.statusCode = statusCode;
    this.errorCode = errorCode;
  }

  body(): { error: ErrorCode; message: string } {
    return { error: this.errorCode, message: this.message };
  }
}

export const notFound = (message: string): HttpError => new HttpError(404, 'not_found', message);
export const invalidRequest = (message: string): HttpError => new HttpError(400, 'invalid_request', message);

/**
 * Map anything thrown while serving a request to its HTTP status and code. Unexpected errors
 * are logged with their stack and reported as `internal_error` without internals.
 */
export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof ClientGoneError) return new HttpError(499, 'client_closed_request', err.message, err);
  if (err instanceof MissingVariableError) return invalidRequest(err.message);
  if (err instanceof MissingApiKeyError) return new HttpError(503, 'unavailable', err.message, err);
  if (err instanceof RequestTimeoutError) return new HttpError(504, 'timeout', err.message, err);
  if (err instanceof ProviderError) return new HttpError(502, 'upstream_error', `model call failed: ${err.message}`, err);
  if (err instanceof AgentConfigError) return new HttpError(500, 'internal_error', err.message, err);
  if (err instanceof SessionNotFoundError) return notFound(err.message);
  if (err instanceof SessionStoreUnavailableError) return new HttpError(503, 'unavailable', err.message, err);
  if (err instanceof InvalidMessageRangeError) return invalidRequest(err.message);
  if (err instanceof InvalidMessageError) return invalidRequest(err.message);
  const status = (err as { statusCode?: unknown } | null)?.statusCode;
  if (typeof status === 'number') {
    // Fastify's own errors (body parsing, size limit) carry their status.
    if (status === 413) return new HttpError(413, 'payload_too_large', `request body is too large: ${errorMessage(err)}`, err);
    if (status === 415) return invalidRequest(`unsupported content type: ${errorMessage(err)}`);
    if (status >= 400 && status < 500) return invalidRequest(errorMessage(err));
  }
  logger('runtime').error({ err }, 'request failed');
  return new HttpError(500, 'internal_error', `internal error: ${errorMessage(err)}`, err);
}
