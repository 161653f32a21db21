import { AgentspecError, errorMessage } from '../../errors.ts';
import { evaluateCondition, EvalFailure, type Scope } from '../../lang/evaluate.ts';
import type { ExprValue } from '../../lang/expression.ts';
import { logger } from '../../log.ts';
import { ClientGoneError, type AgentRunner, type Tokens } from '../agent-loop.ts';
import type { AgentRegistry } from '../agents.ts';
import { toHttpError } from '../errors.ts';
import type { PipelineDefinition, StepDefinition } from './definition.ts';
import { addUsage } from '../tokens.ts';

export type StepStatus = 'completed' | 'failed' | 'skipped' | 'cancelled';
export type PipelineStatus = 'completed' | 'failed' | 'cancelled';

/** One step as the original API reported it (its SDKs decode these names). */
export interface StepResult {
  agent: string;
  output: string;
  duration_ms: number;
  status: StepStatus;
  /** Why the step failed, was cancelled or was skipped. */
  error?: string;
  /** The wire code of a failure (`upstream_error`, `timeout`, `invalid_condition`, ...). */
  error_code?: string;
  tokens: Tokens;
}

export interface PipelineResult {
  pipeline: string;
  status: PipelineStatus;
  steps: Record<string, StepResult>;
  total_duration_ms: number;
  tokens: Tokens;
}

/** What a pipeline run reports while it runs (the stream route turns these into events). */
export type PipelineEvent =
  | { type: 'step_start'; step: string; agent: string }
  | { type: 'text'; step: string; text: string }
  | { type: 'step_end'; step: string; result: StepResult };

export interface PipelineRunOptions {
  runner: AgentRunner;
  agents: AgentRegistry;
  /** Aborted when the client goes away: every running step is cancelled. */
  signal?: AbortSignal;
  onEvent?: (e: PipelineEvent) => void;
}

/** Why a running step was stopped: another step failed. */
class StepCancelledError extends AgentspecError {
  constructor(readonly failedStep: string) {
    super('E_STEP_CANCELLED', `cancelled: step "${failedStep}" failed`);
  }
}

const zero = (): Tokens => ({ input: 0, output: 0, cache_read: 0, total: 0 });

/** `trigger`, `input` and `steps` as a step's `when` sees them. */
function scopeOf(trigger: Record<string, ExprValue>, input: string, results: ReadonlyMap<string, StepResult>): Scope {
  const steps: Record<string, ExprValue> = {};
  for (const [name, r] of results) steps[name] = { output: r.output, status: r.status, agent: r.agent };
  return new Map<string, ExprValue>([
    ['trigger', trigger],
    ['input', input],
    ['steps', steps],
  ]);
}

/**
 * Run a pipeline. A step starts as soon as every step it `depends_on` has completed or was
 * skipped, so independent steps run at the same time. Its message is its own `input` text, else the
 * output of its first dependency that completed, else the trigger as JSON. A `when` that is false
 * skips the step; one that cannot be evaluated fails it. The first failed step fails the pipeline:
 * the running steps are cancelled and no new one starts; the results so far are kept. Never throws
 * for a step's failure: it is in the result.
 */
export async function runPipeline(def: PipelineDefinition, trigger: Record<string, ExprValue>, opts: PipelineRunOptions): Promise<PipelineResult> {
  const started = performance.now();
  const results = new Map<string, StepResult>();
  const controller = new AbortController();
  const onClientGone = (): void => controller.abort(opts.signal?.reason);
  if (opts.signal?.aborted === true) onClientGone();
  opts.signal?.addEventListener('abort', onClientGone, { once: true });
  const running = new Map<string, Promise<void>>();
  let failure: string | undefined;
  const log = logger('runtime');
  const cancelReason = (): string => {
    const reason: unknown = controller.signal.reason;
    if (reason instanceof StepCancelledError || reason instanceof ClientGoneError) return reason.message;
    return 'cancelled: the run was stopped';
  };

  const finish = (step: StepDefinition, result: StepResult): void => {
    results.set(step.name, result);
    opts.onEvent?.({ type: 'step_end', step: step.name, result });
    if (result.status === 'failed' && failure === undefined) {
      failure = step.name;
      log.warn({ pipeline: def.name, step: step.name, agent: step.agent, error: result.error_code, message: result.error }, 'pipeline step failed: cancelling the running steps');
      controller.abort(new StepCancelledError(step.name));
    }
  };

  const messageOf = (step: StepDefinition): string => {
    if (step.input !== undefined && step.input !== '') return step.input;
    for (const d of step.dependsOn) {
      const r = results.get(d);
      if (r?.status === 'completed') return r.output;
    }
    return JSON.stringify(trigger);
  };

  const start = (step: StepDefinition): void => {
    const message = messageOf(step);
    if (step.when !== undefined) {
      let holds: boolean;
      try {
        holds = evaluateCondition(step.when.condition, scopeOf(trigger, message, results));
      } catch (err) {
        const why = err instanceof EvalFailure ? `condition ${JSON.stringify(step.when.text)}: ${err.message}` : errorMessage(err);
        finish(step, { agent: step.agent, output: '', duration_ms: 0, status: 'failed', error: `when: ${why}`, error_code: 'invalid_condition', tokens: zero() });
        return;
      }
      if (!holds) {
        finish(step, { agent: step.agent, output: '', duration_ms: 0, status: 'skipped', error: `when ${JSON.stringify(step.when.text)} is false`, tokens: zero() });
        return;
      }
    }
    const agent = opts.agents.get(step.agent);
    if (agent === undefined) throw new Error(`pipeline "${def.name}": agent "${step.agent}" vanished from the registry`);
    opts.onEvent?.({ type: 'step_start', step: step.name, agent: agent.name });
    const stepStarted = performance.now();
    const ms = (): number => Math.round(performance.now() - stepStarted);
    const work = opts.runner
      .run(agent, {
        message,
        variables: {},
        history: [],
        signal: controller.signal,
        // Only a stream wants the deltas; without a listener the provider answers in one piece.
        ...(opts.onEvent === undefined ? {} : { onText: (text: string) => opts.onEvent?.({ type: 'text', step: step.name, text }) }),
      })
      .then(
        (r) => finish(step, { agent: step.agent, output: r.output, duration_ms: ms(), status: 'completed', tokens: r.tokens }),
        (err: unknown) => {
          if (controller.signal.aborted && (controller.signal.reason instanceof StepCancelledError || opts.signal?.aborted === true)) {
            finish(step, { agent: step.agent, output: '', duration_ms: ms(), status: 'cancelled', error: cancelReason(), tokens: zero() });
            return;
          }
          const h = toHttpError(err);
          finish(step, { agent: step.agent, output: '', duration_ms: ms(), status: 'failed', error: h.message, error_code: h.errorCode, tokens: zero() });
        },
      )
      .finally(() => running.delete(step.name));
    running.set(step.name, work);
  };

  const ready = (s: StepDefinition): boolean => s.dependsOn.every((d) => results.get(d)?.status === 'completed' || results.get(d)?.status === 'skipped');
  try {
    for (;;) {
      if (failure === undefined && !controller.signal.aborted) {
        // Starting a step may finish it at once (skipped), which can make others ready: loop until stable.
        let progressed = true;
        while (progressed) {
          progressed = false;
          for (const s of def.steps) {
            if (results.has(s.name) || running.has(s.name) || !ready(s) || failure !== undefined) continue;
            start(s);
            progressed = true;
          }
        }
      }
      if (running.size === 0) break;
      await Promise.race(running.values());
    }
  } finally {
    opts.signal?.removeEventListener('abort', onClientGone);
  }

  const cancelledBy = cancelReason();
  const steps: Record<string, StepResult> = {};
  const tokens = zero();
  for (const s of def.steps) {
    // Steps that never started (after a failure or a departed client) are reported as cancelled.
    let r = results.get(s.name);
    if (r === undefined) {
      r = { agent: s.agent, output: '', duration_ms: 0, status: 'cancelled', error: `not started: ${cancelledBy}`, tokens: zero() };
      opts.onEvent?.({ type: 'step_end', step: s.name, result: r });
    }
    steps[s.name] = r;
    addUsage(tokens, r.tokens);
  }
  const status: PipelineStatus = failure !== undefined ? 'failed' : controller.signal.aborted ? 'cancelled' : 'completed';
  const total = Math.round(performance.now() - started);
  log.info({ pipeline: def.name, status, steps: def.steps.length, tokens: tokens.total, duration_ms: total }, 'pipeline finished');
  return { pipeline: def.name, status, steps, total_duration_ms: total, tokens };
}
