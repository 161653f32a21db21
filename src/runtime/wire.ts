import type { RunResult } from './agent-loop.ts';

/**
 * A duration as Go's time.Duration prints it (`1h2m3.5s`, `2.25s`, `150ms`): the original
 * runtime sent `/healthz` uptime in this form and its SDKs decode it as a string.
 */
export function goDuration(ms: number): string {
  if (ms <= 0) return '0s';
  if (ms < 1000) return `${trim(ms.toFixed(3))}ms`;
  let rest = ms / 1000;
  const h = Math.floor(rest / 3600);
  rest -= h * 3600;
  const m = Math.floor(rest / 60);
  rest -= m * 60;
  const s = `${trim(rest.toFixed(3))}s`;
  return h > 0 ? `${h}h${m}m${s}` : m > 0 ? `${m}m${s}` : s;
}

function trim(fixed: string): string {
  return fixed.includes('.') ? fixed.replace(/0+$/, '').replace(/\.$/, '') : fixed;
}

/** One tool call as the original API reported it (its SDKs decode these field names). */
export interface WireToolCall {
  id: string;
  tool_name: string;
  input: unknown;
  output: string | null;
  duration_ms: number;
  error?: string;
}

/** The tool calls of a run with their results and how long each took (0: it did not run). */
export function wireToolCalls(r: RunResult): WireToolCall[] {
  if (r.tool_calls.length === 0) return [];
  const results = new Map<string, { content: string; is_error?: boolean }>();
  for (const m of r.messages) if (m.role === 'tool' && m.tool_result !== undefined) results.set(m.tool_result.tool_call_id, m.tool_result);
  return r.tool_calls.map((c) => {
    const res = results.get(c.id);
    const failed = res?.is_error === true;
    return {
      id: c.id,
      tool_name: c.name,
      input: c.input ?? {},
      output: res === undefined || failed ? null : res.content,
      duration_ms: r.tool_durations?.[c.id] ?? 0,
      ...(failed ? { error: res.content } : {}),
    };
  });
}

/** The JSON body of invoke, a session message, and of `done` when a stream asks for the output. */
export function answerBody(r: RunResult, sessionId: string | undefined): Record<string, unknown> {
  // Filled in place, not spread from the done body: every answer comes here, and a spread copies.
  return withDoneFields({ output: r.output, tool_calls: wireToolCalls(r) }, r, sessionId);
}

/** An answer body as the stream's `done` event: without the output and tool calls the text events carried. */
export function doneOf(answer: Record<string, unknown>): Record<string, unknown> {
  const { output: _output, tool_calls: _calls, ...done } = answer;
  return done;
}

/** The stream's final `done` event without the output and tool calls the events before it carried. */
export function doneBody(r: RunResult, sessionId: string | undefined): Record<string, unknown> {
  return withDoneFields({}, r, sessionId);
}

function withDoneFields(body: Record<string, unknown>, r: RunResult, sessionId: string | undefined): Record<string, unknown> {
  body.tokens = r.tokens;
  body.turns = r.turns;
  body.duration_ms = r.duration_ms;
  // The original sent "" for a call without a session; its clients expect a string.
  body.session_id = sessionId ?? '';
  body.stop_reason = r.stop_reason;
  body.agent = r.answered_by;
  // Only after a fallback, so the original's shape is unchanged otherwise.
  if (r.fallbacks !== undefined) body.fallbacks = r.fallbacks;
  return body;
}
