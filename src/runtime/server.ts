import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import rateLimit from '@fastify/rate-limit';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { AgentspecError } from '../errors.ts';
import { logger } from '../log.ts';
import { countSessions } from '../session/count.ts';
import type { BusyMode, SessionStore } from '../session/types.ts';
import { AgentRunner } from './agent-loop.ts';
import { withDelegates } from './delegation.ts';
import { PipelineRegistry } from './pipelines/index.ts';
import type { AgentRegistry } from './agents.ts';
import { ApiKeys, presentedKey, setKeyId } from './auth.ts';
import type { RuntimeContext } from './context.ts';
import { DEFAULT_BODY_LIMIT, DEFAULT_LIMITS, DEFAULT_ON_BUSY, DEFAULT_RATE_LIMIT, type RuntimeLimits } from './defaults.ts';
import { HttpError, toHttpError } from './errors.ts';
import { instrumentStore, RuntimeMetrics } from './metrics.ts';
import { AnsweredLater } from './answered-later.ts';
import { logRequest } from './request-log.ts';
import { newRequestId } from './request-id.ts';
import { registerAgentRoutes } from './routes/agents.ts';
import { registerChatRoutes } from './routes/chat.ts';
import { registerHealthRoutes } from './routes/health.ts';
import { registerInvokeRoutes } from './routes/invoke.ts';
import { registerMetricsRoutes } from './routes/metrics.ts';
import { registerPipelineRoutes } from './routes/pipelines.ts';
import { registerSessionRoutes } from './routes/sessions.ts';
import { registerStreamRoutes } from './routes/stream.ts';

export interface ServerOptions {
  agents: AgentRegistry;
  /** The pipelines served (none when not given). */
  pipelines?: PipelineRegistry;
  store: SessionStore;
  /** API keys; none means no authentication (then listen on loopback only, see checkBindAddress). */
  apiKeys?: readonly string[];
  /** Requests per minute per API key (or per client IP without keys); 0 turns limiting off. */
  rateLimit?: number;
  /** Largest accepted request body in bytes. */
  bodyLimit?: number;
  /** Overrides of DEFAULT_LIMITS. */
  limits?: Partial<RuntimeLimits>;
  /**
   * Behind a reverse proxy: which hops' X-Forwarded-For to believe for the client address (what
   * the per-IP rate limit counts): true (all), a hop count, or addresses/CIDRs. Default: none.
   */
  trustProxy?: boolean | number | string | string[];
  /** Sessions answer only to the API key that created them. Default: on when keys are configured. */
  bindSessions?: boolean;
  /** What a message to a busy session does when neither the request nor its agent says. Default enqueue. */
  onBusy?: BusyMode;
  /**
   * The operator opted out of authentication (`--no-auth`): requests for any Host name are
   * served. Without keys and without this, only loopback Host names are.
   */
  noAuth?: boolean;
}

/** Refused: serving without authentication on an address other machines can reach. */
export class UnsafeBindError extends AgentspecError {
  readonly host: string;

  constructor(host: string) {
    super(
      'E_UNSAFE_BIND',
      `refusing to listen on ${host} without API keys: anyone who can reach it could use your agents and model keys. ` +
        'Set AGENTSPEC_API_KEYS or pass --api-key, listen on 127.0.0.1, or pass --no-auth if this is really what you want',
    );
    this.host = host;
  }
}

export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h) || /^::ffff:127(\.\d{1,3}){3}$/.test(h);
}

/** Without keys the runtime serves loopback only, unless the operator explicitly opted out. */
export function checkBindAddress(host: string, keysConfigured: boolean, noAuth: boolean): void {
  if (!keysConfigured && !noAuth && !isLoopback(host)) throw new UnsafeBindError(host);
}

/** The host name of a Host header (`name`, `name:port`, `[v6]:port`). */
function hostName(header: string): string {
  const m = /^(\[[^\]]*\]|[^:]*)(:\d*)?$/.exec(header.trim());
  return (m?.[1] ?? header).toLowerCase();
}

function loopbackOrigin(origin: string): boolean {
  try {
    const u = new URL(origin);
    return (u.protocol === 'http:' || u.protocol === 'https:') && isLoopback(u.hostname);
  } catch {
    return false;
  }
}

// Errors answered while the request's body is still coming: the connection is closed rather than
// kept for a body nobody will read (a slow sender would otherwise hold it until the request timeout).
const CLOSE_UNREAD = new Set([400, 408, 413, 414, 415, 431]);
// Refusals made before a request is looked at (the Host/Origin guard, the API key, the rate limit),
// whether or not it has a body: the connection goes too.
const CLOSE_REFUSED = new Set([401, 403, 429]);

function trustHops(n: number): (addr: string, hop: number) => boolean {
  return (_addr, hop) => hop < n;
}

const LAST_REQUEST = Symbol('agentspec.lastRequest');
/** A connection of the server, with the last request that came on it. */
interface Connection extends Socket {
  [LAST_REQUEST]?: IncomingMessage;
}

/** Per server: its open connections (a shutdown cuts those whose request is still being received). */
const connections = new WeakMap<FastifyInstance, Set<Connection>>();

function rawError(socket: Socket, status: number, code: string, message: string): void {
  const body = JSON.stringify({ error: code, message });
  const reason = status === 408 ? 'Request Timeout' : status === 413 ? 'Payload Too Large' : status === 431 ? 'Request Header Fields Too Large' : 'Bad Request';
  // Ended, then destroyed once written: a client that never closes its side must not keep it.
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    () => socket.destroy(),
  );
}

/**
 * The HTTP server (not listening yet). Every route answers JSON errors `{error, message}`;
 * `/v1` routes go through authentication and the per-key rate limit, `/healthz` through neither.
 */
export async function buildServer(opts: ServerOptions): Promise<FastifyInstance> {
  const keys = new ApiKeys(opts.apiKeys ?? []);
  const limits: RuntimeLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  const metrics = new RuntimeMetrics({ agents: opts.agents, activeSessions: (agent) => countSessions(store, agent) });
  const store = instrumentStore(opts.store, metrics);
  const runner = new AgentRunner(opts.agents, { maxFallbacks: limits.maxFallbacks, metrics });
  withDelegates(opts.agents, () => runner, limits.maxDelegationDepth);
  const ctx: RuntimeContext = {
    agents: opts.agents,
    pipelines: opts.pipelines ?? new PipelineRegistry([]),
    runner,
    store,
    startedAt: Date.now(),
    limits,
    bindSessions: keys.enabled && (opts.bindSessions ?? true),
    onBusy: opts.onBusy ?? DEFAULT_ON_BUSY,
  };
  const guardBrowsers = !keys.enabled && opts.noAuth !== true;
  const app = Fastify({
    logger: false,
    bodyLimit: opts.bodyLimit ?? DEFAULT_BODY_LIMIT,
    return503OnClosing: true,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // The request timeout is checked on this period; a tenth of it keeps the cut-off close.
    http: { headersTimeout: Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs), connectionsCheckingInterval: Math.max(100, Math.min(30_000, Math.floor(limits.requestTimeoutMs / 10))) },
    // A hop count is a function to fastify: trust the nearest N proxies.
    trustProxy: typeof opts.trustProxy === 'number' ? trustHops(opts.trustProxy) : (opts.trustProxy ?? false),
    genReqId: newRequestId,
    frameworkErrors: (err, _req, reply) => {
      const status = typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 400;
      // Fastify's own text repeats the whole URL; the caller sent it and needs only what is wrong.
      const what =
        err.code === 'FST_ERR_BAD_URL'
          ? 'the URL is not valid (check its percent-encoding)'
          : err.code === 'FST_ERR_MAX_PARAM_LENGTH'
            ? 'a path segment is too long'
            : err.message.slice(0, 200);
      const r = reply as FastifyReply;
      void r.code(status).header('connection', 'close').send({ error: 'invalid_request', message: `invalid request: ${what}` });
    },
    clientErrorHandler: (err: NodeJS.ErrnoException, socket: Socket) => {
      if (err.code === 'ECONNRESET' || socket.destroyed) return;
      if (!socket.writable) {
        socket.destroy();
        return;
      }
      if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') rawError(socket, 408, 'timeout', `the request was not received within ${limits.requestTimeoutMs}ms (requestTimeoutMs)`);
      else if (err.code === 'HPE_HEADER_OVERFLOW') rawError(socket, 431, 'invalid_request', 'request headers (or the URL) are too large');
      else rawError(socket, 400, 'invalid_request', 'malformed HTTP request');
    },
  });
  app.server.maxConnections = limits.maxConnections;

  // No body at all and an empty body under Content-Type: application/json are the same thing:
  // the original SDKs send that header on bodiless DELETEs and session creations.
  // The callback form: fastify's default parser calls `done` and returns nothing.
  const json = app.getDefaultJsonParser('error', 'error') as (req: FastifyRequest, body: string, done: (err: Error | null, body?: unknown) => void) => void;
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    if (body === '' || (Buffer.isBuffer(body) && body.length === 0)) {
      done(null, undefined);
      return;
    }
    json(req, typeof body === 'string' ? body : body.toString('utf8'), done);
  });

  // What a request answered in full leaves: its count and duration, and its log line.
  const answered = new AnsweredLater((req, reply, ms) => {
    // The route pattern, never the raw URL: label values must not grow with session ids.
    const route = req.routeOptions.url ?? 'unmatched';
    metrics.request(req.method, route, reply.statusCode, ms / 1000);
    logRequest(req, reply.statusCode, route, ms);
  });
  // Tracked once per connection, not per request (a keep-alive connection carries many): whether
  // its request is still being received is read at shutdown, from the request itself.
  const open = new Set<Connection>();
  connections.set(app, open);
  app.server.on('connection', (socket: Connection) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
  });
  // The one hook every request runs, a callback rather than async (an async hook costs a promise
  // and a microtask turn each). There is no pre-handler or on-response hook: with them an invoke
  // cost about 5 µs of CPU more (10% of it), so whether a request is still being received is read
  // from the request when it matters, and the response's own close event says when it is done.
  let loopbackHost: string | undefined;
  app.addHook('onRequest', (req, reply, done) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('x-request-id', req.id);
    (req.raw.socket as Connection)[LAST_REQUEST] = req.raw;
    const started = performance.now();
    const res = reply.raw;
    // Counted and logged once answered in full (a response whose client went away is neither).
    res.on('close', () => {
      if (res.writableFinished) answered.add(req, reply, performance.now() - started);
    });
    if (!guardBrowsers) {
      done();
      return;
    }
    // DNS rebinding makes a page same-origin with a name that resolves to 127.0.0.1: its Host
    // is that name. A cross-site page's request carries its Origin.
    const host = req.headers.host;
    // A client sends the same Host on every request: the last one found loopback is not parsed again.
    if (host === undefined || (host !== loopbackHost && !isLoopback(hostName(host)))) {
      done(new HttpError(403, 'forbidden', `Host "${host ?? ''}" is not a loopback name; without API keys only localhost/127.0.0.1/[::1] are served`));
      return;
    }
    loopbackHost = host;
    const origin = req.headers.origin;
    if (origin !== undefined && !loopbackOrigin(origin)) {
      done(new HttpError(403, 'forbidden', `cross-origin requests from ${origin} are refused without API keys`));
      return;
    }
    done();
  });

  app.setErrorHandler((err, req, reply) => {
    const h = toHttpError(err, req.id);
    // internal_error was logged with its stack by toHttpError; 4xx are the caller's business.
    if (h.statusCode >= 500 && h.errorCode !== 'internal_error') {
      logger('http').warn({ request_id: req.id, method: req.method, url: req.url.slice(0, 200), status: h.statusCode, error: h.errorCode, message: h.message }, 'request failed');
    }
    if (CLOSE_REFUSED.has(h.statusCode) || (CLOSE_UNREAD.has(h.statusCode) && !req.raw.complete)) reply.header('connection', 'close');
    return reply.code(h.statusCode).headers(h.headers ?? {}).send(h.body());
  });
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send({ error: 'not_found', message: `no route for ${req.method} ${(req.url.split('?')[0] ?? '').slice(0, 200)}` }),
  );

  await app.register(rateLimit, { global: false });
  registerHealthRoutes(app, ctx);
  registerChatRoutes(app);

  const limit = opts.rateLimit ?? DEFAULT_RATE_LIMIT;
  await app.register(async (v1) => {
    // Identity first, so the limit is per key for authenticated calls and per IP for the rest
    // (including failed logins: guessing keys is rate limited too); rejection after counting.
    // Without keys and without a limit there is nothing to do per request, and no hook runs.
    const identity = new WeakMap<FastifyRequest, { rateKey: string; authorized: boolean }>();
    if (keys.enabled || limit > 0) {
      v1.addHook('onRequest', (req, _reply, done) => {
        const id = keys.enabled ? keys.match(presentedKey(req)) : undefined;
        if (id !== undefined) setKeyId(req, id);
        identity.set(req, { rateKey: id === undefined ? `ip:${req.ip}` : `key:${id}`, authorized: !keys.enabled || id !== undefined });
        done();
      });
    }
    if (limit > 0) {
      v1.addHook(
        'onRequest',
        v1.rateLimit({
          max: limit,
          timeWindow: 60_000,
          keyGenerator: (req) => identity.get(req)?.rateKey ?? `ip:${req.ip}`,
          errorResponseBuilder: (_req, c) =>
            new HttpError(429, 'rate_limited', `rate limit of ${c.max} requests per minute exceeded; retry in ${c.after}`),
        }),
      );
    }
    if (keys.enabled) {
      v1.addHook('onRequest', (req, reply, done) => {
        if (identity.get(req)?.authorized === true) {
          done();
          return;
        }
        reply.header('www-authenticate', 'Bearer realm="agentspec"');
        done(new HttpError(401, 'unauthorized', 'missing or invalid API key: send it as X-API-Key or Authorization: Bearer <key>'));
      });
    }
    registerAgentRoutes(v1, ctx);
    registerInvokeRoutes(v1, ctx);
    registerStreamRoutes(v1, ctx);
    registerSessionRoutes(v1, ctx);
    registerPipelineRoutes(v1, ctx);
    registerMetricsRoutes(v1, metrics);
  });
  return app;
}

/**
 * Stop accepting connections, let in-flight requests finish (at most `graceMs`, then the rest are
 * cut), then close the session store. Store close errors are logged, not thrown: the server is
 * already down by then.
 */
export async function shutdownServer(app: FastifyInstance, store: SessionStore, graceMs = 10_000): Promise<void> {
  const log = logger('runtime');
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), graceMs);
  });
  // Requests still sending their body have no handler running: nothing to finish, so they are
  // cut now instead of holding the shutdown for the whole grace period.
  for (const socket of connections.get(app) ?? []) if (socket[LAST_REQUEST]?.complete === false) socket.destroy();
  const closing = app.close();
  const outcome = await Promise.race([closing.then(() => 'closed' as const), timedOut]);
  clearTimeout(timer);
  if (outcome === 'timeout') {
    log.warn({ grace_ms: graceMs }, 'in-flight requests did not finish in time; closing their connections');
    app.server.closeAllConnections();
    await closing;
  }
  try {
    await store.close();
  } catch (err) {
    log.error({ err }, 'closing the session store failed');
  }
}
