import { AgentspecError, errorMessage } from '../errors.ts';
import { logger } from '../log.ts';
import type { Message, ToolCall } from '../session/types.ts';
import { MissingVariableError, renderPrompt, type AgentDefinition, type AgentRegistry } from './agents.ts';
import { repairToolPairs } from './history.ts';
import { withSummary } from './memory-window.ts';
import type { CallMetrics } from './metrics.ts';
import { ProviderError, type ModelRequest, type ModelResponse, type TokenUsage, type ToolDefinition } from './providers/index.ts';
import { setRunFrame } from './run-frame.ts';
import { addUsage } from './tokens.ts';
import { runTools } from './tool-calls.ts';
import { AnswerRejectedError, failedRules, logWarnings, ReaskBudget, reaskText } from './answer-rules.ts';
import { ExpressionError, OnInputError, runOnInput, stepsContext, type OnInputOutcome } from './on-input/index.ts';
import type { AgentLogic } from './agent-logic.ts';
import { LazyAbortController, type Cancel } from '../lazy-abort.ts';

/** The request's deadline (the agent's `timeout`) passed before the answer was complete. */
export class RequestTimeoutError extends AgentspecError {
  readonly agent: string;
  readonly timeoutMs: number;

  constructor(agent: string, timeoutMs: number) {
    super('E_TIMEOUT', `agent "${agent}" did not answer within its timeout of ${timeoutMs}ms (raise \`timeout\` in the spec)`);
    this.agent = agent;
    this.timeoutMs = timeoutMs;
  }
}

/** The client closed its connection before the answer was sent; the turn was abandoned unsaved. */
export class ClientGoneError extends AgentspecError {
  constructor() {
    super('E_CLIENT_GONE', 'the client disconnected before the answer was sent; nothing was saved');
  }
}

export interface Tokens extends TokenUsage {
  total: number;
}

export type StopReason = 'end_turn' | 'max_turns' | 'token_budget' | 'max_tokens';

export interface RunInput {
  message: string;
  variables: Record<string, string>;
  /** Earlier conversation (from the session, within the memory window), oldest first. */
  history: Message[];
  /** Stored messages before `history` that the memory window leaves out. */
  earlier?: number;
  /** The running summary of what the window leaves out (memory strategy `summary`), sent with the system prompt. */
  summary?: string;
  /** Streaming: called with each text delta as the model produces it. */
  onText?: (delta: string) => void;
  /** Aborted when the client goes away; the agent's own timeout is added to it. */
  signal?: AbortSignal;
  /**
   * Instead of `signal`: a controller made for this run alone (aborted when the client goes
   * away), which the run aborts itself when its deadline passes. Saves a second controller.
   */
  abort?: LazyAbortController;
  /**
   * Receives every message of this turn as soon as it exists (the user message first), so a
   * caller that saves partial turns has them even when the run fails.
   */
  transcript?: Message[];
  /** The session the turn belongs to (for tool logs). */
  sessionId?: string;
  /** Set by the runner: what the agent's `on input` gathered before the model is called. */
  onInput?: OnInputOutcome;
  /**
   * Set when this run is a delegation (a delegate tool call or an `on input` delegate): the agents
   * that handed the task down, the outermost first.
   */
  delegatedBy?: readonly string[];
}

/** One agent of a fallback chain that failed before the next was tried. */
export interface FallbackAttempt {
  agent: string;
  /** The failure's stable code (`E_PROVIDER`, `E_MISSING_API_KEY`, ...). */
  code: string;
}

export interface RunResult {
  output: string;
  tool_calls: ToolCall[];
  tokens: Tokens;
  turns: number;
  duration_ms: number;
  stop_reason: StopReason;
  /** The agent that produced the answer (differs from the one asked after a fallback). */
  answered_by: string;
  /** This turn's messages to append to the session: the user message first, the answer last. */
  messages: Message[];
  /** How long each executed tool call took, by tool_call_id. */
  tool_durations?: Record<string, number>;
  /** Agents that failed before `answered_by` answered, in the order tried (absent without a fallback). */
  fallbacks?: FallbackAttempt[];
}

const MAX_TOKENS_PER_CALL = 4096;
const DEFAULT_MAX_FALLBACKS = 3;
/** How deep `on input` delegations may nest (a loop is refused before that). */
const MAX_ON_INPUT_DELEGATION_DEPTH = 8;
const RETRY_BASE_MS = 200;
const RETRY_CAP_MS = 2000;

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Aborted when the agent's timeout passes or the caller's signal aborts, whichever comes first. */
export interface Deadline extends Cancel {
  timedOut(): boolean;
  /** Clears the timer and the listener on the caller's signal; called once the run is over. */
  release(): void;
}

/**
 * One controller per request, and a timer only once something waits on the signal: the deadline
 * is a time, checked when the run asks whether it is aborted, and a signal handed to a fetch, a
 * tool or a wait arms a timer for what is left of it, cleared when the run ends. (A timer armed
 * for every run was a tenth of a stateless echo turn; AbortSignal.timeout keeps its timer alive
 * for the whole timeout, minutes after the answer, and AbortSignal.any adds a composite signal per
 * request.) Given `own`, a controller the caller made for this run alone, the deadline aborts that
 * one instead of making a second controller linked to it; its signal is made only when something
 * asks for it (see LazyAbortController), and through this deadline, which then arms the timer.
 */
export function requestDeadline(agent: AgentDefinition, caller: AbortSignal | undefined, own?: LazyAbortController): Deadline {
  return new RunDeadline(agent, caller, own);
}

// A class, not an object of closures: every run makes one, and its methods then cost nothing.
class RunDeadline implements Deadline {
  private readonly controller: LazyAbortController;
  private readonly agent: AgentDefinition;
  /** When the timeout passes, on performance.now()'s clock. */
  private readonly at: number;
  private timer: NodeJS.Timeout | undefined;
  private released = false;
  private readonly caller: AbortSignal | undefined;
  private readonly onCallerAbort: (() => void) | undefined;
  private expired = false;

  constructor(agent: AgentDefinition, caller: AbortSignal | undefined, own: LazyAbortController | undefined) {
    this.agent = agent;
    this.controller = own ?? new LazyAbortController();
    this.at = performance.now() + agent.timeoutMs;
    // A controller of the caller's own is aborted by the caller already: nothing to link.
    if (own !== undefined || caller === undefined) return;
    const controller = this.controller;
    const onCallerAbort = (): void => controller.abort(caller.reason);
    if (caller.aborted) {
      onCallerAbort();
      return;
    }
    this.caller = caller;
    this.onCallerAbort = onCallerAbort;
    caller.addEventListener('abort', onCallerAbort, { once: true });
  }

  get aborted(): boolean {
    if (this.controller.aborted) return true;
    if (this.released || performance.now() < this.at) return false;
    this.expire();
    return true;
  }

  get signal(): AbortSignal {
    // Something is going to wait on it: from now on the deadline must wake it in time.
    if (this.timer === undefined && !this.released && !this.controller.aborted) {
      const left = this.at - performance.now();
      if (left <= 0) this.expire();
      else this.timer = setTimeout(expire, left, this);
    }
    return this.controller.signal;
  }

  timedOut(): boolean {
    return this.expired || (!this.released && performance.now() >= this.at);
  }

  expire(): void {
    this.expired = true;
    this.controller.abort(new RequestTimeoutError(this.agent.name, this.agent.timeoutMs));
  }

  release(): void {
    this.released = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.onCallerAbort !== undefined) this.caller?.removeEventListener('abort', this.onCallerAbort);
  }
}

function expire(deadline: RunDeadline): void {
  deadline.expire();
}

/**
 * A model call's request. A class for its `signal`, made by the run only when a provider reads
 * it (the echo model asks `aborted` alone): an object literal with getters would make two
 * closures for every call.
 */
class RunModelRequest implements ModelRequest {
  readonly model: string;
  readonly system: string;
  readonly messages: Message[];
  readonly tools: ToolDefinition[];
  readonly maxTokens: number;
  declare earlierMessages?: number;
  declare window?: readonly Message[];
  declare temperature?: number;
  declare onText?: (delta: string) => void;
  private readonly cancel: Cancel;

  constructor(agent: AgentDefinition, system: string, messages: Message[], maxTokens: number, cancel: Cancel) {
    this.model = agent.resolved.model;
    this.system = system;
    this.messages = messages;
    this.tools = agent.tools;
    this.maxTokens = maxTokens;
    this.cancel = cancel;
  }

  get signal(): AbortSignal {
    return this.cancel.signal;
  }

  get aborted(): boolean {
    return this.cancel.aborted;
  }
}

/** Runs agents: the model/tool loop with retries, budget, deadline and fallback. */
export class AgentRunner {
  private readonly agents: AgentRegistry;
  /** Fallback agents one request may try (each only once: a cycle of fallbacks ends too). */
  private readonly maxFallbacks: number;
  /** Where model and tool calls are counted (the server's metrics); none counts nothing. */
  readonly metrics: CallMetrics | undefined;

  constructor(agents: AgentRegistry, opts: { maxFallbacks?: number; metrics?: CallMetrics } = {}) {
    this.agents = agents;
    this.maxFallbacks = opts.maxFallbacks ?? DEFAULT_MAX_FALLBACKS;
    this.metrics = opts.metrics;
  }

  async run(agent: AgentDefinition, input: RunInput): Promise<RunResult> {
    const started = Date.now();
    const deadline = requestDeadline(agent, input.signal, input.abort);
    const tokens: Tokens = { input: 0, output: 0, cache_read: 0, total: 0 };
    try {
      // --- on input (3.0): statements run before the model; a `respond` answers without it ---
      const statements = agent.logic?.onInput;
      // Tool calls of this run find its frame by the signal they are handed (delegation reads it);
      // an agent with neither tools nor `on input` makes none (nor, then, the signal).
      if (agent.executors.size > 0 || statements !== undefined) setRunFrame(deadline.signal, { chain: [...(input.delegatedBy ?? []), agent.name], tokens, variables: input.variables });
      const pre = statements === undefined ? undefined : await this.onInput(agent, statements, input, deadline.signal, tokens);
      const asked = pre === undefined ? input : { ...input, onInput: pre };
      // Without a fallback there is nothing to catch: the loop's own promise, without the async
      // layer of runWithFallback around it (a promise and a microtask turn on most agents' turns).
      const result =
        pre?.answer !== undefined
          ? respondedTurn(agent, input, pre.answer)
          : await (fallsBack(agent) ? this.runWithFallback(agent, asked, deadline, tokens, []) : this.loop(agent, asked, deadline, tokens));
      // --- end on input ---
      // Completed in place rather than copied: the result is this run's own, and every turn comes here.
      const done = result as RunResult;
      done.tokens = tokens;
      done.duration_ms = Date.now() - started;
      return done;
    } catch (err) {
      if (deadline.timedOut()) throw new RequestTimeoutError(agent.name, agent.timeoutMs);
      throw err;
    } finally {
      deadline.release();
    }
  }

  private async runWithFallback(
    agent: AgentDefinition,
    input: RunInput,
    cancel: Cancel,
    tokens: Tokens,
    failed: FallbackAttempt[],
  ): Promise<Omit<RunResult, 'tokens' | 'duration_ms'>> {
    try {
      const result = await this.loop(agent, input, cancel, tokens);
      return failed.length === 0 ? result : { ...result, fallbacks: failed };
    } catch (err) {
      const next = fallsBack(agent) ? this.agents.get(agent.fallback) : undefined;
      // A deadline or a departed client ends the whole request, and a bad request stays bad:
      // a fallback cannot help with those.
      if (next === undefined || cancel.aborted || err instanceof MissingVariableError || isSpecLogicError(err)) throw err;
      const chain = [...failed.map((f) => f.agent), agent.name];
      if (chain.includes(next.name) || failed.length >= this.maxFallbacks) {
        logger('runtime').warn({ agent: agent.name, fallback: next.name, chain, max_fallbacks: this.maxFallbacks, err: errorMessage(err) }, 'fallback chain ended: agent already tried or the limit reached');
        throw err;
      }
      logger('runtime').warn({ agent: agent.name, fallback: next.name, err: errorMessage(err) }, 'agent failed, using fallback');
      const code = err instanceof AgentspecError ? err.code : 'E_INTERNAL';
      return this.runWithFallback(next, { ...input, transcript: undefined }, cancel, tokens, [...failed, { agent: agent.name, code }]);
    }
  }

  private async loop(agent: AgentDefinition, input: RunInput, cancel: Cancel, tokens: Tokens): Promise<Omit<RunResult, 'tokens' | 'duration_ms'>> {
    const system = withSummary(renderPrompt(agent.prompt, input.variables), input.summary) + stepsContext(input.onInput?.ran ?? []);
    const userMessage: Message = { role: 'user', content: input.message };
    const turnMessages: Message[] = [userMessage];
    // What the model is sent: the turn's messages plus answers a rule rejected and their re-asks,
    // which are never stored (the session keeps the question and the accepted answer).
    const conversation: Message[] = [userMessage];
    input.transcript?.push(userMessage);
    const record = (m: Message): void => {
      turnMessages.push(m);
      conversation.push(m);
      input.transcript?.push(m);
    };
    // --- validate rules (answer-rules.ts) ---
    const rules = agent.logic?.rules;
    const reasks = new ReaskBudget(agent.name);
    let rejected: AnswerRejectedError | undefined;
    let answers = 0;
    // An answer that an error rule may still reject is not streamed; the accepted one is sent whole.
    const holdText = rules?.some((r) => r.severity === 'error') === true && input.onText !== undefined;
    const modelInput: RunInput = holdText ? withoutStreaming(input) : input;
    // --- end validate rules ---
    const toolCalls: ToolCall[] = [];
    const durations: Record<string, number> = {};
    // One bad stored turn (a call without its result) must not make every later call a 400.
    const history = repairToolPairs(input.history, { agent: agent.name, session: input.sessionId });
    let output = '';
    let turns = 0;
    let stop: StopReason = 'max_turns';
    while (turns < agent.maxTurns) {
      const remaining = agent.tokenBudget === undefined ? MAX_TOKENS_PER_CALL : agent.tokenBudget - tokens.total;
      if (remaining <= 0) {
        stop = 'token_budget';
        break;
      }
      const res = await this.callModel(agent, system, [...history, ...conversation], history, Math.min(MAX_TOKENS_PER_CALL, remaining), modelInput, cancel);
      turns++;
      addUsage(tokens, res.usage);
      output = res.text;
      const assistant: Message = { role: 'assistant', content: res.text };
      if (res.tool_calls.length > 0) assistant.tool_calls = res.tool_calls;
      if (res.tool_calls.length === 0) {
        // --- validate rules: a failed error rule re-asks the model within this turn ---
        answers++;
        if (rules !== undefined) {
          const config = agent.logic?.config ?? {};
          const failed = failedRules(agent.name, rules, { input: input.message, output: res.text, steps: input.onInput?.steps ?? {}, variables: input.variables, config });
          if (failed.errors.length > 0) {
            reasks.spend(failed.errors, answers);
            rejected = new AnswerRejectedError(agent.name, failed.errors[0]!, answers);
            conversation.push(assistant, { role: 'user', content: reaskText(failed.errors) });
            continue;
          }
          rejected = undefined;
          logWarnings(agent.name, input.sessionId, failed.warnings);
          if (holdText) input.onText?.(res.text);
        }
        // --- end validate rules ---
        record(assistant);
        stop = res.stop_reason === 'max_tokens' ? 'max_tokens' : 'end_turn';
        break;
      }
      record(assistant);
      toolCalls.push(...res.tool_calls);
      const results = await runTools(agent, res.tool_calls, { signal: cancel.signal, metrics: this.metrics, ...(input.sessionId === undefined ? {} : { session: input.sessionId }) });
      for (const r of results) {
        record(r.message);
        if (r.duration_ms !== undefined) durations[r.message.tool_result?.tool_call_id ?? ''] = r.duration_ms;
      }
      if (agent.tokenBudget !== undefined && tokens.total >= agent.tokenBudget) {
        stop = 'token_budget';
        break;
      }
    }
    // The turn ran out of turns or budget while re-asking: the last answer is still a rejected one.
    if (rejected !== undefined) throw rejected;
    if (stop !== 'end_turn') logger('runtime').warn({ agent: agent.name, turns, tokens: tokens.total, stop_reason: stop }, 'agent stopped before a final answer');
    return { output, tool_calls: toolCalls, tool_durations: durations, turns, stop_reason: stop, answered_by: agent.name, messages: turnMessages };
  }

  /** Run the agent's `on input` statements; a delegate's tokens count toward this turn's. */
  private onInput(agent: AgentDefinition, onInput: NonNullable<AgentLogic['onInput']>, input: RunInput, signal: AbortSignal, tokens: Tokens): Promise<OnInputOutcome> {
    const chain = [...(input.delegatedBy ?? []), agent.name];
    return runOnInput(onInput.statements, agent.logic?.config ?? {}, {
      agent,
      message: input.message,
      variables: input.variables,
      tools: onInput.tools,
      signal,
      ...(input.sessionId === undefined ? {} : { sessionId: input.sessionId }),
      delegate: async (name, message) => {
        const target = this.agents.get(name);
        if (target === undefined) throw new OnInputError(agent.name, `delegate to ${name}`, `agent "${name}" is not served`);
        if (chain.includes(name) || chain.length >= MAX_ON_INPUT_DELEGATION_DEPTH) {
          throw new OnInputError(agent.name, `delegate to ${name}`, `delegation loops or nests too deep: ${[...chain, name].join(' -> ')}`);
        }
        const r = await this.run(target, { message, variables: input.variables, history: [], signal, delegatedBy: chain });
        addUsage(tokens, r.tokens);
        return r.output;
      },
    });
  }

  /** One model call with the agent's retries. A stream that already sent text is not retried. */
  private async callModel(
    agent: AgentDefinition,
    system: string,
    messages: Message[],
    /** The session's window `messages` begins with. */
    window: readonly Message[],
    maxTokens: number,
    input: RunInput,
    cancel: Cancel,
  ): Promise<ModelResponse> {
    for (let attempt = 0; ; attempt++) {
      let sent = false;
      const onText =
        input.onText === undefined
          ? undefined
          : (d: string): void => {
              sent = true;
              input.onText?.(d);
            };
      const callStarted = performance.now();
      const provider = agent.resolved.provider.name;
      try {
        // Set field by field: conditional spreads cost a copy each, on every model call.
        const req = new RunModelRequest(agent, system, messages, maxTokens, cancel);
        if (input.earlier !== undefined) req.earlierMessages = input.earlier;
        if (window.length > 0) req.window = window;
        if (agent.temperature !== undefined) req.temperature = agent.temperature;
        if (onText !== undefined) req.onText = onText;
        const res = await agent.resolved.provider.complete(req);
        this.metrics?.modelCall(agent.name, provider, 'ok', (performance.now() - callStarted) / 1000, res.usage);
        return res;
      } catch (err) {
        this.metrics?.modelCall(agent.name, provider, cancel.aborted ? 'aborted' : 'error', (performance.now() - callStarted) / 1000);
        const retry = err instanceof ProviderError && err.retryable && !sent && !cancel.aborted && attempt < agent.maxRetries;
        if (!retry) throw err;
        const delay = Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** attempt) * (0.5 + Math.random() / 2);
        logger('runtime').warn({ agent: agent.name, attempt: attempt + 1, max_retries: agent.maxRetries, delay_ms: Math.round(delay), err: errorMessage(err) }, 'model call failed, retrying');
        await sleep(delay, cancel.signal);
      }
    }
  }
}

/** Whether a failed turn of `agent` is handed to another agent (then named by `agent.fallback`). */
function fallsBack(agent: AgentDefinition): agent is AgentDefinition & { fallback: string } {
  return agent.onError === 'fallback' && agent.fallback !== undefined;
}

/** Errors of the spec's own logic: a fallback agent would not make them go away. */
function isSpecLogicError(err: unknown): boolean {
  return err instanceof AnswerRejectedError || err instanceof ExpressionError || err instanceof OnInputError;
}

function withoutStreaming(input: RunInput): RunInput {
  const copy = { ...input };
  delete copy.onText;
  return copy;
}

/** The turn of an `on input` that answered by itself: the question and that answer, no model call. */
function respondedTurn(agent: AgentDefinition, input: RunInput, answer: string): Omit<RunResult, 'tokens' | 'duration_ms'> {
  const messages: Message[] = [
    { role: 'user', content: input.message },
    { role: 'assistant', content: answer },
  ];
  input.transcript?.push(...messages);
  input.onText?.(answer);
  return { output: answer, tool_calls: [], tool_durations: {}, turns: 0, stop_reason: 'end_turn', answered_by: agent.name, messages };
}
