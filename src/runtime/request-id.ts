import { randomBytes } from 'node:crypto';

// Every request gets an id: its bytes come from a pool refilled 4 KiB at a time rather than from
// one randomBytes call per request, which showed in the request path's profile.
const POOL_BYTES = 4096;
const ID_BYTES = 8;
let pool = Buffer.alloc(0);
let offset = 0;

/** `req_` and 16 hex digits of CSPRNG output, unique per request. */
export function newRequestId(): string {
  if (offset + ID_BYTES > pool.length) {
    pool = randomBytes(POOL_BYTES);
    offset = 0;
  }
  const id = pool.toString('hex', offset, offset + ID_BYTES);
  offset += ID_BYTES;
  return `req_${id}`;
}
