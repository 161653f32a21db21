import type { FastifyInstance, FastifyReply } from 'fastify';
import { CHAT_HTML } from '../chat/page.ts';
import { CHAT_JS } from '../chat/script.ts';
import { CHAT_CSS } from '../chat/style.ts';

// Only this origin's script and style, no inline code, no framing: the page holds an API key.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

function asset(reply: FastifyReply, type: string, body: string, extra: Record<string, string> = {}): FastifyReply {
  return reply
    .headers(extra)
    .header('content-type', type)
    .header('cache-control', 'no-cache')
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .send(body);
}

/**
 * The chat page at `/`: a static page and its script and style, embedded in the sources so no
 * file has to be found at run time. It needs no key to load; the API calls it makes do.
 */
export function registerChatRoutes(app: FastifyInstance): void {
  app.get('/', async (_req, reply) =>
    asset(reply, 'text/html; charset=utf-8', CHAT_HTML, { 'content-security-policy': CSP, 'x-frame-options': 'DENY' }),
  );
  app.get('/chat/app.js', async (_req, reply) => asset(reply, 'text/javascript; charset=utf-8', CHAT_JS));
  app.get('/chat/app.css', async (_req, reply) => asset(reply, 'text/css; charset=utf-8', CHAT_CSS));
}
