import { createHash } from 'node:crypto';
import type { FastifyReply } from 'fastify';
import { errorMessage } from '../errors.ts';
import { logger } from '../log.ts';
import { FencedAppendError, IdempotencyKeyUsedError, SessionNotFoundError } from '../session/errors.ts';
import { isSessionId } from '../session/ids.ts';
import { beginTurn, claimRequest, supersededBy, type ClaimedRequest, type TurnLease, type TurnRequest } from '../session/lease.ts';
import type { BusyMode, Message, SessionInfo } from '../session/types.ts';
import { ClientGoneError, type RunInput, type RunResult } from './agent-loop.ts';
import { renderPrompt, turnVariables, type AgentDefinition } from './agents.ts';
import type { RuntimeContext } from './context.ts';
import { notFound, overLimit, type HttpError } from './errors.ts';
import { addUsage } from './tokens.ts';
import { answerBody } from './wire.ts';
import { foldSummary, loadWindow, type LoadedWindow, type TurnMemory } from './memory-window.ts';
import { LazyAbortController } from '../lazy-abort.ts';

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
  return info !== null && visibleTo(ctx, agent, info, owner) ? info : null;
}

function visibleTo(ctx: RuntimeContext, agent: AgentDefinition, info: SessionInfo, owner: string | undefined): boolean {
  if (info.agent !== agent.name) return false;
  return !(ctx.bindSessions && info.owner !== undefined && info.owner !== owner);
}

export interface Turn {
  message: string;
  variables: Record<string, string>;
  sessionId: string | undefined;
  savePartial: boolean;
  /** The API key id of the caller (for sessions bound to keys). */
  owner?: string | undefined;
  /** The request's busy mode (over the agent's and the runtime's). */
  onBusy?: BusyMode;
  /** Idempotency-Key / client_message_id: a retry gets the stored answer of the first request. */
  idempotencyKey?: string;
}

export interface PreparedTurn {
  agent: AgentDefinition;
  turn: Turn;
  history: Message[];
  /** The session's memory window the history was read through. */
  memory?: LoadedWindow;
  /** A session turn runs under its session's lease; it ends in runTurn (stored or released). */
  lease?: TurnLease;
  /** Messages in the session before this turn (the first seq of the turn is one more). */
  total?: number;
  requestHash?: string;
  /** The idempotency key's turn is stored already: this is its answer, and nothing runs. */
  replay?: Record<string, unknown>;
  /** A request without a session under an idempotency key: the claim its answer is stored with. */
  claim?: ClaimedRequest;
}

/** What a turn answers: the JSON body of invoke and session messages, and whether it was replayed. */
export interface TurnAnswer {
  body: Record<string, unknown>;
  output: string;
  replayed: boolean;
}

/**
 * Everything that can fail before the model is called (so a stream can still answer with JSON).
 * A session turn takes its session here, in one store call that also checks it exists, whose it
 * is, and whether its idempotency key has an answer already; `cancel` ends a wait for the turn
 * (its signal is read only when one happens). `turn` becomes the prepared turn's: its
 * variables are completed in place.
 */
export async function prepareTurn(ctx: RuntimeContext, agent: AgentDefinition, turn: Turn, cancel?: { readonly signal: AbortSignal }): Promise<PreparedTurn> {
  const limit = ctx.limits.maxVariableBytes;
  if (turn.sessionId === undefined) {
    const variables = turnVariables(agent.prompt, turn.variables, {}, limit);
    // A missing prompt variable is the caller's mistake: a 400 now, not an error event mid-stream.
    renderPrompt(agent.prompt, variables);
    if (turn.idempotencyKey === undefined) {
      turn.variables = variables;
      return { agent, turn, history: [] };
    }
    const start = await claimRequest(ctx.store, agent.name, {
      key: turn.idempotencyKey,
      requestHash: hashOfRequest(agent.name, turn),
      leaseTtlMs: ctx.limits.sessionLeaseTtlMs,
      waitMs: ctx.limits.sessionBusyWaitMs,
      mode: turn.onBusy ?? agent.onBusy ?? ctx.onBusy,
      ...(cancel === undefined ? {} : { cancel }),
    });
    if (start.kind === 'replay') return { agent, turn, history: [], replay: JSON.parse(start.response) as Record<string, unknown> };
    turn.variables = variables;
    return { agent, turn, history: [], claim: start.claim };
  }
  const id = turn.sessionId;
  const missing = (): HttpError => notFound(`session ${id} not found for agent "${agent.name}"`);
  if (!isSessionId(id)) throw missing();
  const requestHash = turn.idempotencyKey === undefined ? undefined : hashOfRequest(agent.name, turn);
  const request: TurnRequest = {
    mode: turn.onBusy ?? agent.onBusy ?? ctx.onBusy,
    // The memory window's tail is read with the lease, in the same store call.
    range: { tail: agent.memory.maxMessages },
    leaseTtlMs: ctx.limits.sessionLeaseTtlMs,
    waitMs: ctx.limits.sessionBusyWaitMs,
    check: (info) => {
      if (!visibleTo(ctx, agent, info, turn.owner)) throw missing();
    },
  };
  if (turn.idempotencyKey !== undefined && requestHash !== undefined) request.idempotency = { key: turn.idempotencyKey, requestHash };
  if (cancel !== undefined) request.cancel = cancel;
  const start = await beginTurn(ctx.store, id, request).catch((err: unknown) => {
    throw err instanceof SessionNotFoundError ? missing() : err;
  });
  if (start.kind === 'replay') return { agent, turn, history: [], replay: JSON.parse(start.response) as Record<string, unknown> };
  const { lease, info, page } = start;
  try {
    // Variables the request leaves out come from the session's metadata (set once, at creation).
    const variables = turnVariables(agent.prompt, turn.variables, info.metadata, limit);
    const system = renderPrompt(agent.prompt, variables);
    if (page.total >= ctx.limits.maxMessagesPerSession) {
      throw overLimit(`session ${id}`, 'maxMessagesPerSession', ctx.limits.maxMessagesPerSession, page.total, 'messages');
    }
    const memory = await loadWindow(ctx.store, id, agent, { system, message: turn.message }, page);
    turn.variables = variables;
    const prepared: PreparedTurn = { agent, turn, history: memory.messages, memory, lease, total: page.total };
    if (requestHash !== undefined) prepared.requestHash = requestHash;
    return prepared;
  } catch (err) {
    await lease.release();
    throw err;
  }
}

/** A digest of what makes two requests the same message: a key reused for another is a conflict. */
function hashOfRequest(agent: string, turn: Turn): string {
  const variables = Object.keys(turn.variables)
    .sort()
    .map((k) => [k, turn.variables[k]]);
  return createHash('sha256').update(JSON.stringify([agent, turn.sessionId ?? '', turn.message, variables, turn.savePartial])).digest('hex');
}

/**
 * Run the agent and, for a session, append the user message and everything the agent produced
 * in ONE append, only after the model call succeeded: the history never holds a question
 * without its answer. The append carries the turn's fence (refused when a later turn took the
 * session) and its idempotency record, and releases the lease, all in one atomic step. With
 * `save_partial`, a failed turn's messages so far are appended too (never a cancelled one's).
 * A failed append is the request's error (503 when the store is down), never a silent success.
 */
export async function runTurn(
  ctx: RuntimeContext,
  prepared: PreparedTurn,
  opts: { onText?: (delta: string) => void; client?: LazyAbortController },
): Promise<TurnAnswer> {
  const { agent, turn, history, lease } = prepared;
  if (prepared.replay !== undefined) return { body: prepared.replay, output: String(prepared.replay.output ?? ''), replayed: true };
  const transcript: Message[] = [];
  // The client going away and the lease being lost both end the turn.
  const { signal, abort, release } = turnSignal(opts.client, lease);
  let memory: TurnMemory = {};
  let result: RunResult;
  try {
    // Only the summary strategy has anything to fold (an await less for every other turn).
    if (prepared.memory !== undefined && agent.memory.strategy === 'summary') memory = await foldSummary(agent, prepared.memory, abort?.signal ?? signal, ctx.runner.metrics);
    // Set field by field: conditional spreads cost a copy each, on every turn.
    const input: RunInput = { message: turn.message, variables: turn.variables, history, transcript };
    if (prepared.memory !== undefined) input.earlier = prepared.memory.start;
    if (memory.summaryText !== undefined) input.summary = memory.summaryText;
    if (turn.sessionId !== undefined) input.sessionId = turn.sessionId;
    if (opts.onText !== undefined) input.onText = opts.onText;
    if (abort !== undefined) input.abort = abort;
    else if (signal !== undefined) input.signal = signal;
    result = await ctx.runner.run(agent, input);
  } catch (err) {
    const reason = lease?.lostReason ?? err;
    if (lease !== undefined) await endFailedTurn(ctx, prepared, lease, transcript, reason);
    await prepared.claim?.release();
    throw reason;
  } finally {
    release();
  }
  // The summary call's tokens count toward the turn's.
  if (memory.usage !== undefined) addUsage(result.tokens, memory.usage);
  if (turn.sessionId === undefined || lease === undefined) {
    const body = answerBody(result, turn.sessionId);
    await prepared.claim?.complete(JSON.stringify(body));
    logTurn(agent, turn, result);
    return { body, output: result.output, replayed: false };
  }
  const first = (prepared.total ?? 0) + 1;
  // Added to the body rather than spread into a copy of it: the spread was a tenth of a session turn's own CPU.
  const body = answerBody(result, turn.sessionId);
  body.first_seq = first;
  body.last_seq = first + result.messages.length - 1;
  const idempotency =
    turn.idempotencyKey === undefined || prepared.requestHash === undefined
      ? undefined
      : { key: turn.idempotencyKey, requestHash: prepared.requestHash, response: JSON.stringify(body) };
  try {
    const summary = memory.store === undefined ? {} : { summary: memory.store };
    await ctx.store.appendMessages(turn.sessionId, result.messages, { ...lease.appendOptions(idempotency), ...summary });
  } catch (err) {
    // Not stored: the lease is still ours unless the append was fenced (then releasing is a no-op).
    await lease.release();
    if (err instanceof FencedAppendError) {
      logger('runtime').warn({ agent: agent.name, session_id: turn.sessionId, fence: err.fence, current_fence: err.currentFence }, 'turn append refused: a later turn holds the session');
    }
    if (err instanceof IdempotencyKeyUsedError) return { body: JSON.parse(err.response) as Record<string, unknown>, output: result.output, replayed: true };
    throw err;
  } finally {
    lease.finished();
  }
  logTurn(agent, turn, result);
  return { body, output: result.output, replayed: false };
}

/**
 * What a turn runs under: the client's controller, also aborted when the lease is lost, which the
 * run's deadline aborts too (one controller per turn: each costs as much as a small request).
 * Without a client controller, the lease's signal alone (the run makes its own controller then).
 */
function turnSignal(
  client: LazyAbortController | undefined,
  lease: TurnLease | undefined,
): { signal: AbortSignal | undefined; abort: LazyAbortController | undefined; release: () => void } {
  if (client === undefined) return { signal: lease?.signal, abort: undefined, release: () => undefined };
  if (lease === undefined) return { signal: undefined, abort: client, release: () => undefined };
  lease.abortOnLoss(client);
  return { signal: undefined, abort: client, release: () => lease.abortOnLoss(undefined) };
}

/**
 * A turn that failed: with `save_partial` its messages so far are appended under its fence (a
 * cancelled turn keeps nothing), otherwise its lease is given up.
 */
async function endFailedTurn(ctx: RuntimeContext, prepared: PreparedTurn, lease: TurnLease, transcript: Message[], reason: unknown): Promise<void> {
  const { agent, turn } = prepared;
  if (turn.sessionId === undefined || !turn.savePartial || transcript.length === 0 || supersededBy(reason) !== undefined) {
    await lease.release();
    return;
  }
  try {
    await ctx.store.appendMessages(turn.sessionId, transcript, lease.appendOptions());
    lease.finished();
    logger('runtime').info({ agent: agent.name, session_id: turn.sessionId, messages: transcript.length }, 'partial turn saved');
  } catch (saveErr) {
    // The run's own error is what the client gets; the lost partial save must still be seen.
    logger('runtime').error({ agent: agent.name, session_id: turn.sessionId, err: errorMessage(saveErr) }, 'saving the partial turn failed');
    await lease.release();
  }
}

function logTurn(agent: AgentDefinition, turn: Turn, result: RunResult): void {
  const log = logger('runtime');
  // Every turn comes here; the record is built only for a log that keeps it.
  if (!log.isLevelEnabled('debug')) return;
  log.debug(
    { agent: agent.name, answered_by: result.answered_by, session_id: turn.sessionId, turns: result.turns, tokens: result.tokens.total, duration_ms: result.duration_ms, stop_reason: result.stop_reason },
    'turn completed',
  );
}

/** Sends a turn's answer; a replayed one says so in `Idempotent-Replayed`. */
export function sendAnswer(reply: FastifyReply, answer: TurnAnswer): FastifyReply {
  return answer.replayed ? reply.header('idempotent-replayed', 'true').send(answer.body) : reply.send(answer.body);
}

/**
 * A controller aborted when the client disconnects before its response was fully written; a turn
 * run under it also aborts it at its deadline (see RunInput.abort).
 */
export function clientGone(res: import('node:http').ServerResponse): LazyAbortController {
  const controller = new LazyAbortController();
  // `on`, not `once`: a response closes once, and `once` wraps every listener.
  res.on('close', () => {
    if (!res.writableFinished) controller.abort(new ClientGoneError());
  });
  return controller;
}

/** A signal aborted when the client disconnects before its response was fully written. */
export function clientGoneSignal(res: import('node:http').ServerResponse): AbortSignal {
  return clientGone(res).signal;
}
