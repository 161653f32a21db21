import { randomBytes } from 'node:crypto';

const PREFIX = 'sess_';
// 16 random bytes in URL-safe base64 without padding is always 22 characters; the last one
// carries only 2 significant bits, so it is one of A, Q, g, w.
const ID_PATTERN = /^sess_[A-Za-z0-9_-]{21}[AQgw]$/;

/** A new session id: `sess_` + 128 bits from the CSPRNG, URL-safe base64 without padding. */
export function newSessionId(): string {
  return PREFIX + randomBytes(16).toString('base64url');
}

/** True when `s` has the exact shape `newSessionId` produces (anything else is rejected unseen). */
export function isSessionId(s: unknown): s is string {
  return typeof s === 'string' && ID_PATTERN.test(s);
}
