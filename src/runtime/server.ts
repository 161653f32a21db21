import rateLimit from '@fastify/rate-limit';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { AgentspecError } from '../errors.ts';
import { logger } from '../log.ts';
import type { SessionStore } from '../session/index.ts';
import { AgentRunner } from './agent-loop.ts';
import type { AgentRegistry } from './agents.ts';
import { ApiKeys, presentedKey } from './auth.ts';
import type { RuntimeContext } from './context.ts';
import { DEFAULT_BODY_LIMIT, DEFAULT_RATE_LIMIT } from './defaults.ts';
import { HttpError, toHttpError } from './errors.ts';
import { activeSessionCount, instrumentStore, RuntimeMetrics, withMetrics } from './metrics.ts';
import { logRequest } from './request-log.ts';
import { registerAgentRoutes } from './routes/agents.ts';
import { registerChatRoutes } from './routes/chat.ts';
import { registerHealthRoutes } from './routes/health.ts';
import { registerInvokeRoutes } from './routes/invoke.ts';
import { registerMetricsRoutes } from './routes/metrics.ts';
import { registerSessionRoutes } from './routes/sessions.ts';
import { registerStreamRoutes } from './routes/stream.ts';


export interface ServerOptions {
  agents: AgentRegistry;
  store: SessionStore;
  /** API keys; none means no authentication (then listen on loopback only, see checkBindAddress). */
  apiKeys?: readonly string[];
  /** Requests per minute per API key (or per client IP without keys); 0 turns limiting off. */
  rateLimit?: number;
  /** Largest accepted request body in bytes. */
  bodyLimit?: number;
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

/**
 * The HTTP server (not listening yet). Every route answers JSON errors `{error, message}`;
 * `/v1` routes go through authentication and the per-key rate limit, `/healthz` through neither.
 */
export async function buildServer(opts: ServerOptions): Promise<FastifyInstance> {
  const keys = new ApiKeys(opts.apiKeys ?? []);
  const metrics = new RuntimeMetrics({ agents: opts.agents, activeSessions: (agent) => activeSessionCount(store, agent) });
  const store = instrumentStore(opts.store, metrics);
  const ctx: RuntimeContext = {
    agents: opts.agents,
    runner: new AgentRunner(opts.agents),
    store,
    startedAt: Date.now(),
  };
  const app = Fastify({ logger: false, bodyLimit: opts.bodyLimit ?? DEFAULT_BODY_LIMIT, return503OnClosing: true });

  app.setErrorHandler((err, req, reply) => {
    const h = toHttpError(err);
    // internal_error was logged with its stack by toHttpError; 4xx are the caller's business.
    if (h.statusCode >= 500 && h.errorCode !== 'internal_error') {
      logger('http').warn({ method: req.method, url: req.url, status: h.statusCode, error: h.errorCode, message: h.message }, 'request failed');
    }
    return reply.code(h.statusCode).send(h.body());
  });
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send({ error: 'not_found', message: `no route for ${req.method} ${req.url.split('?')[0] ?? ''}` }),
  );
  app.addHook('onResponse', async (req, reply) => {
    // The route pattern, never the raw URL: label values must not grow with session ids.
    const route = req.routeOptions.url ?? 'unmatched';
    metrics.request(req.method, route, reply.statusCode, reply.elapsedTime / 1000);
    logRequest(req, reply, route);
  });
  // Handlers (and the agent loop under them) record model and tool calls into this server's metrics.
  app.addHook('preHandler', (_req, _reply, done) => withMetrics(metrics, done));

  await app.register(rateLimit, { global: false });
  registerHealthRoutes(app, ctx);
  registerChatRoutes(app);

  const limit = opts.rateLimit ?? DEFAULT_RATE_LIMIT;
  await app.register(async (v1) => {
    // Identity first, so the limit is per key for authenticated calls and per IP for the rest
    // (including failed logins: guessing keys is rate limited too); rejection after counting.
    const identity = new WeakMap<FastifyRequest, { rateKey: string; authorized: boolean }>();
    v1.addHook('onRequest', async (req) => {
      const id = keys.enabled ? keys.match(presentedKey(req)) : undefined;
      identity.set(req, { rateKey: id === undefined ? `ip:${req.ip}` : `key:${id}`, authorized: !keys.enabled || id !== undefined });
    });
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
    v1.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
      if (identity.get(req)?.authorized === true) return;
      reply.header('www-authenticate', 'Bearer realm="agentspec"');
      throw new HttpError(401, 'unauthorized', 'missing or invalid API key: send it as X-API-Key or Authorization: Bearer <key>');
    });
    registerAgentRoutes(v1, ctx);
    registerInvokeRoutes(v1, ctx);
    registerStreamRoutes(v1, ctx);
    registerSessionRoutes(v1, ctx);
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
