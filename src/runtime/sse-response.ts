import type { ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';
import { formatSse } from './providers/index.ts';

/**
 * Take the response over from fastify and start a `text/event-stream` on it, with the headers the
 * hooks already set (request id, nosniff). `send` writes one event and does nothing once the
 * client is gone.
 */
export function openEventStream(reply: FastifyReply): { res: ServerResponse; send: (event: string, data: unknown) => void } {
  reply.hijack();
  const res = reply.raw;
  const headers: Record<string, string | string[] | number> = {};
  for (const [k, v] of Object.entries(reply.getHeaders())) if (v !== undefined) headers[k] = v;
  res.writeHead(200, {
    ...headers,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  const send = (event: string, data: unknown): void => {
    if (!res.writableEnded && !res.destroyed) res.write(formatSse(event, data));
  };
  return { res, send };
}
