import type { FastifyRequest } from 'fastify';
import { logTraffic, type TrafficFields } from '../log.ts';

// Polled by load balancers, the process adapter and Prometheus: at info they would drown the traffic.
const QUIET_ROUTES = new Set(['/healthz', '/metrics']);
const MAX_PATH = 200;

function field(obj: unknown, name: string): string | undefined {
  if (typeof obj !== 'object' || obj === null) return undefined;
  const v = (obj as Record<string, unknown>)[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/**
 * One line per answered request, so `agentspec logs -f` shows traffic: method, path (without the
 * query), route pattern, status, duration, and the agent and session it concerned.
 */
export function logRequest(req: FastifyRequest, status: number, route: string, durationMs: number): void {
  const q = req.url.indexOf('?');
  const path = (q === -1 ? req.url : req.url.slice(0, q)).slice(0, MAX_PATH);
  // `:name` is a pipeline's name under /v1/pipelines, an agent's everywhere else.
  const named = field(req.params, 'name');
  const isPipeline = route.startsWith('/v1/pipelines');
  const session = field(req.params, 'id') ?? field(req.body, 'session_id');
  const line: TrafficFields = { method: req.method, path, route, status, duration_ms: Math.round(durationMs) };
  if (named !== undefined) line[isPipeline ? 'pipeline' : 'agent'] = named;
  if (session !== undefined) line.session_id = session;
  logTraffic('http', QUIET_ROUTES.has(route) ? 'debug' : 'info', line, 'request');
}
