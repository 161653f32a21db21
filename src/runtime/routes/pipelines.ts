import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ExprValue } from '../../lang/expression.ts';
import { logger } from '../../log.ts';
import type { RuntimeContext } from '../context.ts';
import { clientGoneSignal } from '../conversation.ts';
import { notFound, overLimit, toHttpError } from '../errors.ts';
import { runPipeline, type PipelineDefinition, type PipelineResult } from '../pipelines/index.ts';
import { parseOr400 } from '../schemas.ts';
import { openEventStream } from '../sse-response.ts';

const runBody = z.object({
  trigger: z.record(z.string(), z.unknown(), { message: 'must be a JSON object' }).optional(),
  /** Stream only: keep each step's output in `step_end` and `done` (the text events carried it). */
  include_output: z.boolean().optional(),
});

function pipelineOr404(ctx: RuntimeContext, name: string): PipelineDefinition {
  const p = ctx.pipelines.get(name);
  if (p === undefined) throw notFound(`pipeline "${name}" not found`);
  return p;
}

/** The trigger of a run body, bounded like an agent message (it becomes the first steps' message). */
function triggerOf(ctx: RuntimeContext, body: unknown): { trigger: Record<string, ExprValue>; includeOutput: boolean } {
  const b = parseOr400(runBody, body);
  const trigger = (b.trigger ?? {}) as Record<string, ExprValue>;
  const bytes = Buffer.byteLength(JSON.stringify(trigger), 'utf8');
  if (bytes > ctx.limits.maxMessageBytes) throw overLimit('trigger', 'maxMessageBytes', ctx.limits.maxMessageBytes, bytes, 'bytes');
  return { trigger, includeOutput: b.include_output === true };
}

/** A result without the step outputs, for stream events (SDK readers cap a line at 64 KiB). */
function withoutOutputs(r: PipelineResult): Record<string, unknown> {
  const steps: Record<string, unknown> = {};
  for (const [name, s] of Object.entries(r.steps)) {
    const { output: _output, ...rest } = s;
    steps[name] = rest;
  }
  return { ...r, steps };
}

/**
 * GET /v1/pipelines, POST /v1/pipelines/:name/run (the original's `runPipeline`) and
 * POST /v1/pipelines/:name/stream (the same run as server-sent events).
 */
export function registerPipelineRoutes(app: FastifyInstance, ctx: RuntimeContext): void {
  app.get('/v1/pipelines', async () => ({
    pipelines: ctx.pipelines.list().map((p) => ({
      name: p.name,
      fqn: p.fqn,
      steps: p.steps.map((s) => ({
        name: s.name,
        agent: s.agent,
        depends_on: s.dependsOn,
        ...(s.parallel ? { parallel: true } : {}),
        ...(s.when === undefined ? {} : { when: s.when.text }),
      })),
    })),
  }));

  app.post<{ Params: { name: string } }>('/v1/pipelines/:name/run', async (req, reply) => {
    const def = pipelineOr404(ctx, req.params.name);
    const { trigger } = triggerOf(ctx, req.body);
    return runPipeline(def, trigger, { runner: ctx.runner, agents: ctx.agents, signal: clientGoneSignal(reply.raw) });
  });

  app.post<{ Params: { name: string } }>('/v1/pipelines/:name/stream', async (req, reply) => {
    const def = pipelineOr404(ctx, req.params.name);
    const { trigger, includeOutput } = triggerOf(ctx, req.body);
    const { res, send } = openEventStream(reply);
    try {
      const result = await runPipeline(def, trigger, {
        runner: ctx.runner,
        agents: ctx.agents,
        signal: clientGoneSignal(res),
        onEvent: (e) => {
          if (e.type === 'step_start') send('step_start', { step: e.step, agent: e.agent });
          else if (e.type === 'text') send('text', { step: e.step, text: e.text });
          else {
            const { output, ...rest } = e.result;
            send('step_end', { step: e.step, ...rest, ...(includeOutput ? { output } : {}) });
          }
        },
      });
      send('done', includeOutput ? result : withoutOutputs(result));
    } catch (err) {
      const h = toHttpError(err, req.id);
      logger('runtime').warn({ pipeline: def.name, status: h.statusCode, error: h.errorCode, message: h.message }, 'pipeline stream failed');
      send('error', { ...h.body(), status: h.statusCode });
    } finally {
      res.end();
    }
  });
}
