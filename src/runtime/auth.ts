import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/**
 * The configured API keys, kept only as SHA-256 digests. Comparing fixed-length digests with
 * timingSafeEqual, against every key without stopping early, leaks neither a key's content nor
 * its length through response timing.
 */
export class ApiKeys {
  private readonly digests: Buffer[];

  constructor(keys: readonly string[]) {
    this.digests = [...new Set(keys.map((k) => k.trim()).filter((k) => k !== ''))].map(digest);
  }

  get enabled(): boolean {
    return this.digests.length > 0;
  }

  get count(): number {
    return this.digests.length;
  }

  /** A stable, non-secret id of the matching key (for rate limiting and logs), or undefined. */
  match(presented: string | undefined): string | undefined {
    if (presented === undefined || presented === '') return undefined;
    const d = digest(presented);
    let found: Buffer | undefined;
    for (const k of this.digests) {
      if (timingSafeEqual(d, k)) found = k;
    }
    return found === undefined ? undefined : found.subarray(0, 8).toString('hex');
  }
}

/** The key a request presents: `X-API-Key`, else `Authorization: Bearer <key>`. */
export function presentedKey(req: FastifyRequest): string | undefined {
  const x = req.headers['x-api-key'];
  if (typeof x === 'string' && x !== '') return x;
  const auth = req.headers.authorization;
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (m !== null) return m[1];
  }
  return undefined;
}

/** API keys from `AGENTSPEC_API_KEYS` (comma-separated) plus those given on the command line. */
export function apiKeysFrom(env: NodeJS.ProcessEnv, flags: readonly string[] = []): string[] {
  const fromEnv = (env.AGENTSPEC_API_KEYS ?? '').split(',').map((k) => k.trim());
  return [...fromEnv, ...flags.map((k) => k.trim())].filter((k) => k !== '');
}

const keyIds = new WeakMap<FastifyRequest, string>();

/** Remember which configured key a request presented (set by the authentication hook). */
export function setKeyId(req: FastifyRequest, id: string): void {
  keyIds.set(req, id);
}

/** The non-secret id of the key the request was authenticated with; undefined without keys. */
export function keyIdOf(req: FastifyRequest): string | undefined {
  return keyIds.get(req);
}
