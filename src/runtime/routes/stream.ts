import type { FastifyInstance } from 'fastify';
import { logger } from '../../log.ts';
import { agentOr404, type RuntimeContext } from '../context.ts';
import { clientGoneSignal, prepareTurn, runTurn } from '../conversation.ts';
import { toHttpError } from '../errors.ts';
import { invokeBody, parseOr400, turnOf } from '../schemas.ts';
import { openEventStream } from '../sse-response.ts';
import { answerBody, doneBody } from '../wire.ts';
import { ownerOf } from './sessions.ts';

/**
 * POST /v1/agents/:name/stream: the answer as server-sent events: `text` deltas, then one `done`
 * (tokens, turns, duration_ms, stop_reason, session_id, agent; the output too with
 * `include_output`), or one `error`. Problems found before the model is
 * called (unknown agent or session, bad body) are ordinary JSON errors with their status.
 */
export function registerStreamRoutes(app: FastifyInstance, ctx: RuntimeContext): void {
  app.post<{ Params: { name: string } }>('/v1/agents/:name/stream', async (req, reply) => {
    const agent = agentOr404(ctx, req.params.name);
    const body = parseOr400(invokeBody, req.body);
    const prepared = await prepareTurn(ctx, agent, { ...turnOf(body, ctx.limits), owner: ownerOf(ctx, req) });

    const { res, send } = openEventStream(reply);
    try {
      const r = await runTurn(ctx, prepared, {
        signal: clientGoneSignal(res),
        onText: (text) => send('text', { text }),
      });
      // Small by default: SDK stream readers cap a line at 64 KiB, and the text events already
      // carried the output.
      send('done', body.include_output === true ? answerBody(r, body.session_id) : doneBody(r, body.session_id));
    } catch (err) {
      const h = toHttpError(err, req.id);
      logger('runtime').warn({ agent: agent.name, status: h.statusCode, error: h.errorCode, message: h.message }, 'stream failed');
      send('error', { ...h.body(), status: h.statusCode });
    } finally {
      res.end();
    }
  });
}
