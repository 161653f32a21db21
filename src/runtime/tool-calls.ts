import { errorMessage } from '../errors.ts';
import { logger } from '../log.ts';
import type { Message, ToolCall } from '../session/types.ts';
import type { ToolOutcome } from '../tools/index.ts';
import type { AgentDefinition } from './agents.ts';
import type { CallMetrics } from './metrics.ts';

/** Tool calls of one model turn that run at the same time; the rest wait for a free slot. */
export const TOOL_CONCURRENCY = 4;

export interface ToolCallResult {
  /** The `tool` message answering the call, paired by tool_call_id. */
  message: Message;
  /** Set when the tool ran. */
  duration_ms?: number;
}

function resultMessage(call: ToolCall, o: Pick<ToolOutcome, 'content' | 'is_error'>): Message {
  return { role: 'tool', tool_result: { tool_call_id: call.id, content: o.content, ...(o.is_error ? { is_error: true } : {}) } };
}

/** What the calls of one model turn run under. */
export interface ToolRunContext {
  signal: AbortSignal;
  session?: string;
  /** Where each call is counted (none: not counted). */
  metrics?: CallMetrics | undefined;
}

async function runOne(agent: AgentDefinition, call: ToolCall, ctx: ToolRunContext): Promise<ToolCallResult> {
  const tool = agent.executors.get(call.name);
  if (tool === undefined) {
    return { message: resultMessage(call, { content: `tool "${call.name}" is not available to agent "${agent.name}"; answer without it`, is_error: true }) };
  }
  const started = performance.now();
  let outcome: ToolOutcome;
  try {
    outcome = await tool.call(call.input, { agent: agent.name, signal: ctx.signal, ...(ctx.session === undefined ? {} : { session: ctx.session }) });
  } catch (err) {
    if (ctx.signal.aborted) throw err;
    // The contract says tools report failures as outcomes; a throw is a bug, still the model's answer.
    logger('tools').error({ agent: agent.name, skill: call.name, err }, 'tool threw instead of returning an outcome');
    outcome = { content: `tool "${call.name}" failed: ${errorMessage(err)}`, is_error: true, truncated: false, bytes: 0 };
  }
  const duration = Math.round(performance.now() - started);
  ctx.metrics?.toolCall(call.name, tool.kind, outcome.is_error ? 'error' : 'ok', duration / 1000);
  // One line per execution. Never the arguments: they may carry what the user typed, or secrets.
  logger('tools').info(
    {
      agent: agent.name,
      session: ctx.session,
      skill: call.name,
      kind: tool.kind,
      tool_call_id: call.id,
      duration_ms: duration,
      outcome: outcome.is_error ? 'error' : 'ok',
      bytes: outcome.bytes,
      truncated: outcome.truncated,
    },
    'tool executed',
  );
  return { message: resultMessage(call, outcome), duration_ms: duration };
}

/**
 * Run a model turn's tool calls, at most TOOL_CONCURRENCY at once, and return their results in
 * the order of the calls. Rejects (after every started call has settled) only when `signal` aborts.
 */
export async function runTools(agent: AgentDefinition, calls: ToolCall[], ctx: ToolRunContext): Promise<ToolCallResult[]> {
  const results: Array<ToolCallResult | undefined> = new Array<ToolCallResult | undefined>(calls.length);
  let next = 0;
  let failure: { err: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (next < calls.length && failure === undefined) {
      const i = next++;
      const call = calls[i];
      if (call === undefined) continue;
      try {
        results[i] = await runOne(agent, call, ctx);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(TOOL_CONCURRENCY, calls.length) }, worker));
  if (failure !== undefined) throw failure.err;
  return results.map((r) => {
    if (r === undefined) throw new Error('a tool call has no result');
    return r;
  });
}
