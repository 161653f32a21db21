import { errorMessage } from '../errors.ts';
import { logger } from '../log.ts';
import { isSessionId } from '../session/ids.ts';
import type { Message, SessionInfo } from '../session/types.ts';
import { ClientGoneError, type RunResult } from './agent-loop.ts';
import { renderPrompt, turnVariables, type AgentDefinition } from './agents.ts';
import type { RuntimeContext } from './context.ts';
import { notFound, overLimit } from './errors.ts';
import { addSummaryUsage, foldSummary, loadWindow, type LoadedWindow } from './memory-window.ts';

/**
 * The session `id` as seen from `agent`'s path. A session of another agent is reported exactly
 * like a missing one, so a path cannot be used to probe other agents' sessions; so is, when
 * sessions are bound to keys, a session another API key created.
 */
export async function sessionOf(ctx: RuntimeContext, agent: AgentDefinition, id: string, owner?: string): Promise<SessionInfo> {
  const info = await findSession(ctx, agent, id, owner);
  if (info === null) throw notFound(`session ${id} not found for agent "${agent.name}"`);
  return info;
}

/** sessionOf, with null for "not there from where this caller stands". */
export async function findSession(ctx: RuntimeContext, agent: AgentDefinition, id: string, owner?: string): Promise<SessionInfo | null> {
  if (!isSessionId(id)) return null;
  const info = await ctx.store.get(id);
  if (info === null || info.agent !== agent.name) return null;
  if (ctx.bindSessions && info.owner !== undefined && info.owner !== owner) return null;
  return info;
}

export interface Turn {
  message: string;
  variables: Record<string, string>;
  sessionId: string | undefined;
  savePartial: boolean;
  /** The API key id of the caller (for sessions bound to keys). */
  owner?: string | undefined;
}

export interface PreparedTurn {
  agent: AgentDefinition;
  turn: Turn;
  history: Message[];
  /** The session's memory window the history was read through. */
  memory?: LoadedWindow;
}

/** Everything that can fail before the model is called (so a stream can still answer with JSON). */
export async function prepareTurn(ctx: RuntimeContext, agent: AgentDefinition, turn: Turn): Promise<PreparedTurn> {
  const limit = ctx.limits.maxVariableBytes;
  if (turn.sessionId === undefined) {
    const variables = turnVariables(agent.prompt, turn.variables, {}, limit);
    // A missing prompt variable is the caller's mistake: a 400 now, not an error event mid-stream.
    renderPrompt(agent.prompt, variables);
    return { agent, turn: { ...turn, variables }, history: [] };
  }
  const info = await sessionOf(ctx, agent, turn.sessionId, turn.owner);
  // Variables the request leaves out come from the session's metadata (set once, at creation).
  const variables = turnVariables(agent.prompt, turn.variables, info.metadata, limit);
  const system = renderPrompt(agent.prompt, variables);
  const page = await loadWindow(ctx.store, turn.sessionId, agent, { system, message: turn.message });
  if (page.total >= ctx.limits.maxMessagesPerSession) {
    throw overLimit(`session ${turn.sessionId}`, 'maxMessagesPerSession', ctx.limits.maxMessagesPerSession, page.total, 'messages');
  }
  return { agent, turn: { ...turn, variables }, history: page.messages, memory: page };
}

/**
 * Run the agent and, for a session, append the user message and everything the agent produced
 * in ONE append, only after the model call succeeded: the history never holds a question
 * without its answer. With `save_partial`, a failed turn's messages so far are appended too.
 * A failed append is the request's error (503 when the store is down), never a silent success.
 */
export async function runTurn(
  ctx: RuntimeContext,
  prepared: PreparedTurn,
  opts: { onText?: (delta: string) => void; signal?: AbortSignal },
): Promise<RunResult> {
  const { agent, turn, history } = prepared;
  const transcript: Message[] = [];
  const memory = await foldSummary(agent, prepared.memory, opts.signal);
  let result: RunResult;
  try {
    result = await ctx.runner.run(agent, {
      message: turn.message,
      variables: turn.variables,
      history,
      ...(prepared.memory === undefined ? {} : { earlier: prepared.memory.start }),
      ...(memory.summaryText === undefined ? {} : { summary: memory.summaryText }),
      transcript,
      ...(turn.sessionId === undefined ? {} : { sessionId: turn.sessionId }),
      ...(opts.onText === undefined ? {} : { onText: opts.onText }),
      ...(opts.signal === undefined ? {} : { signal: opts.signal }),
    });
  } catch (err) {
    if (turn.sessionId !== undefined && turn.savePartial && transcript.length > 0) {
      try {
        await ctx.store.appendMessages(turn.sessionId, transcript);
        logger('runtime').info({ agent: agent.name, session_id: turn.sessionId, messages: transcript.length }, 'partial turn saved');
      } catch (saveErr) {
        // The run's own error is what the client gets; the lost partial save must still be seen.
        logger('runtime').error({ agent: agent.name, session_id: turn.sessionId, err: errorMessage(saveErr) }, 'saving the partial turn failed');
      }
    }
    throw err;
  }
  if (turn.sessionId !== undefined) await ctx.store.appendMessages(turn.sessionId, result.messages, memory.store === undefined ? {} : { summary: memory.store });
  if (memory.usage !== undefined) addSummaryUsage(result, memory.usage);
  logger('runtime').debug(
    { agent: agent.name, answered_by: result.answered_by, session_id: turn.sessionId, turns: result.turns, tokens: result.tokens.total, duration_ms: result.duration_ms, stop_reason: result.stop_reason },
    'turn completed',
  );
  return result;
}

/** A signal aborted when the client disconnects before its response was fully written. */
export function clientGoneSignal(res: import('node:http').ServerResponse): AbortSignal {
  const controller = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) controller.abort(new ClientGoneError());
  });
  return controller.signal;
}
