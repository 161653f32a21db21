import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { errorMessage } from '../errors.ts';
import type { Attributes } from '../ir/types.ts';
import { attrStringMap } from '../ir/attributes.ts';
import { timeoutOf } from './command.ts';
import { ToolConfigError } from './errors.ts';
import { DEFAULT_OUTPUT_CAP, truncationNote } from './limits.ts';
import { checkInput, errorOutcome } from './outcome.ts';
import type { Redactor } from './redact.ts';
import type { NetworkGuard } from './ssrf.ts';
import { encodeJson, encodeUrl, render } from './template.ts';
import type { Tool, ToolCallContext, ToolOutcome, ToolSpec } from './types.ts';

export interface HttpToolDeps {
  guard: NetworkGuard;
  redactor: Redactor;
  secrets: ReadonlyMap<string, string>;
  outputCap?: number;
}

const MAX_REDIRECTS = 5;
const SECRET_REF = /\{\{\s*secret\.([^{}\s]+)\s*\}\}/g;
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

interface Reply {
  status: number;
  statusText: string;
  location: string | undefined;
  body: string;
  bytes: number;
  truncated: boolean;
}

class TimedOut extends Error {}

/** `tool http`: one request (plus redirects), every hop through the SSRF guard. */
export class HttpTool implements Tool {
  readonly kind = 'http' as const;
  readonly name: string;
  readonly spec: ToolSpec;
  private readonly method: string;
  private readonly url: string;
  private readonly headers: Record<string, string>;
  private readonly bodyTemplate: string | undefined;
  private readonly timeoutMs: number;
  private readonly deps: HttpToolDeps;

  constructor(spec: ToolSpec, tool: Attributes, deps: HttpToolDeps) {
    this.name = spec.name;
    this.spec = spec;
    this.deps = deps;
    this.method = (typeof tool.method === 'string' && tool.method !== '' ? tool.method : 'GET').toUpperCase();
    if (!/^[A-Z]+$/.test(this.method)) throw new ToolConfigError(spec.name, `method "${this.method}" is not an HTTP method`);
    this.url = typeof tool.url === 'string' ? tool.url : '';
    if (this.url === '') throw new ToolConfigError(spec.name, 'tool http has no url');
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(attrStringMap(tool.headers))) {
      headers[k.toLowerCase()] = v.replace(SECRET_REF, (_w, name: string) => {
        const value = deps.secrets.get(name);
        if (value === undefined) throw new ToolConfigError(spec.name, `header ${k} refers to secret "${name}", which is not declared`);
        return value;
      });
    }
    this.headers = headers;
    this.bodyTemplate = typeof tool.body_template === 'string' && tool.body_template !== '' ? tool.body_template : undefined;
    this.timeoutMs = timeoutOf(spec.name, tool.timeout);
  }

  async call(input: unknown, ctx: ToolCallContext): Promise<ToolOutcome> {
    const redactor = this.deps.redactor;
    const checked = checkInput(this.spec, input, redactor);
    if ('outcome' in checked) return checked.outcome;
    let url: URL;
    try {
      url = new URL(render(this.url, checked.ok, encodeUrl));
    } catch (err) {
      return errorOutcome(`the url of "${this.name}" is not valid after filling in the input: ${errorMessage(err)}`, redactor);
    }
    let body: string | undefined;
    const headers = { ...this.headers };
    if (this.bodyTemplate !== undefined) body = render(this.bodyTemplate, checked.ok, encodeJson);
    else if (BODY_METHODS.has(this.method)) body = JSON.stringify(checked.ok);
    if (body !== undefined) headers['content-type'] ??= 'application/json';
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = AbortSignal.any([ctx.signal, timeout]);
    let method = this.method;
    try {
      for (let hop = 0; ; hop++) {
        if (url.protocol !== 'http:' && url.protocol !== 'https:') return errorOutcome(`refused ${url.protocol} URL: only http and https are allowed`, redactor);
        const decision = await this.deps.guard.decide(url);
        if (!decision.allowed) return errorOutcome(`refused to connect: ${decision.reason}`, redactor);
        const reply = await this.send(url, method, headers, body, decision.addresses, signal);
        if (reply.location !== undefined && [301, 302, 303, 307, 308].includes(reply.status)) {
          if (hop >= MAX_REDIRECTS) return errorOutcome(`too many redirects (more than ${MAX_REDIRECTS})`, redactor);
          const next = new URL(reply.location, url);
          if (reply.status === 303 || ((reply.status === 301 || reply.status === 302) && method !== 'GET' && method !== 'HEAD')) {
            method = 'GET';
            body = undefined;
            delete headers['content-type'];
          }
          // Credentials were meant for the first origin only.
          if (next.origin !== url.origin) for (const k of Object.keys(this.headers)) delete headers[k];
          url = next;
          continue;
        }
        const note = reply.truncated ? truncationNote(Buffer.byteLength(reply.body), reply.bytes) : '';
        if (reply.status >= 400) {
          return { content: redactor.redact(`HTTP ${reply.status} ${reply.statusText}: ${reply.body}${note}`), is_error: true, truncated: reply.truncated, bytes: reply.bytes };
        }
        return { content: redactor.redact(reply.body + note), is_error: false, truncated: reply.truncated, bytes: reply.bytes };
      }
    } catch (err) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      if (err instanceof TimedOut || timeout.aborted) return errorOutcome(`request timed out after ${this.timeoutMs}ms`, redactor);
      return errorOutcome(`request failed: ${errorMessage(err)}`, redactor);
    }
  }

  /**
   * One request to the addresses the guard checked, and only those: the socket's lookup answers
   * with them instead of resolving the name again (both families offered, for happy eyeballs).
   */
  private send(url: URL, method: string, headers: Record<string, string>, body: string | undefined, addresses: Array<{ address: string; family: 4 | 6 }>, signal: AbortSignal): Promise<Reply> {
    const cap = this.deps.outputCap ?? DEFAULT_OUTPUT_CAP;
    const first = addresses[0];
    if (first === undefined) return Promise.reject(new Error(`${url.hostname} has no checked address`));
    const pinned: LookupFunction = (_host, opts, cb) => {
      if (opts.all === true) (cb as unknown as (e: null, a: Array<{ address: string; family: number }>) => void)(null, addresses);
      else cb(null, first.address, first.family);
    };
    return new Promise<Reply>((resolve, reject) => {
      const lib = url.protocol === 'https:' ? https : http;
      const req = lib.request(
        url,
        {
          method,
          headers: { ...headers, ...(body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) }) },
          lookup: pinned,
          signal,
        },
        (res) => {
          const chunks: Buffer[] = [];
          let kept = 0;
          let total = 0;
          let truncated = false;
          const done = (): void =>
            resolve({
              status: res.statusCode ?? 0,
              statusText: res.statusMessage ?? '',
              location: typeof res.headers.location === 'string' ? res.headers.location : undefined,
              body: Buffer.concat(chunks).toString('utf8'),
              bytes: total,
              truncated,
            });
          res.on('data', (c: Buffer) => {
            total += c.length;
            const room = cap - kept;
            if (room > 0) {
              const part = c.length <= room ? c : c.subarray(0, room);
              chunks.push(part);
              kept += part.length;
            }
            if (total > cap && !truncated) {
              truncated = true;
              // Enough read: stop the transfer instead of downloading the rest.
              res.destroy();
              done();
            }
          });
          res.on('end', done);
          res.on('error', (e) => {
            if (!truncated) reject(signal.aborted ? new TimedOut() : e);
          });
        },
      );
      req.on('error', (e) => reject(signal.aborted ? new TimedOut() : e));
      req.end(body);
    });
  }
}
