import { AgentspecError, errorMessage } from '../errors.ts';
import { logger } from '../log.ts';
import type { Message, ToolCall } from '../session/types.ts';
import { MissingVariableError, renderPrompt, type AgentDefinition, type AgentRegistry } from './agents.ts';
import { repairToolPairs } from './history.ts';
import { recordModelCall } from './metrics.ts';
import { ProviderError, type ModelResponse, type TokenUsage } from './providers/index.ts';
import { runTools } from './tool-calls.ts';

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
  /** Earlier conversation (from the session), oldest first. */
  history: Message[];
  /** Streaming: called with each text delta as the model produces it. */
  onText?: (delta: string) => void;
  /** Aborted when the client goes away; the agent's own timeout is added to it. */
  signal?: AbortSignal;
  /**
   * Receives every message of this turn as soon as it exists (the user message first), so a
   * caller that saves partial turns has them even when the run fails.
   */
  transcript?: Message[];
  /** The session the turn belongs to (for tool logs). */
  sessionId?: string;
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
}

const MAX_TOKENS_PER_CALL = 4096;
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

interface Deadline {
  /** Aborted when the agent's timeout passes or the caller's signal aborts, whichever comes first. */
  signal: AbortSignal;
  timedOut(): boolean;
  /** Clears the timer and the listener on the caller's signal; called once the run is over. */
  release(): void;
}

/**
 * One controller and one timer per request, both released when the run ends. (AbortSignal.timeout
 * keeps its timer alive for the whole timeout, minutes after the answer, and AbortSignal.any
 * adds a composite signal per request: together a large share of the CPU and memory per request.)
 */
function requestDeadline(agent: AgentDefinition, caller: AbortSignal | undefined): Deadline {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new RequestTimeoutError(agent.name, agent.timeoutMs));
  }, agent.timeoutMs);
  const onCallerAbort = (): void => controller.abort(caller?.reason);
  if (caller?.aborted === true) onCallerAbort();
  else caller?.addEventListener('abort', onCallerAbort, { once: true });
  return {
    signal: controller.signal,
    timedOut: () => timedOut,
    release: () => {
      clearTimeout(timer);
      caller?.removeEventListener('abort', onCallerAbort);
    },
  };
}

function addUsage(into: Tokens, u: TokenUsage): void {
  into.input += u.input;
  into.output += u.output;
  into.cache_read += u.cache_read;
  into.total = into.input + into.output + into.cache_read;
}

/** Runs agents: the model/tool loop with retries, budget, deadline and fallback. */
export class AgentRunner {
  private readonly agents: AgentRegistry;

  constructor(agents: AgentRegistry) {
    this.agents = agents;
  }

  async run(agent: AgentDefinition, input: RunInput): Promise<RunResult> {
    const started = Date.now();
    const deadline = requestDeadline(agent, input.signal);
    const tokens: Tokens = { input: 0, output: 0, cache_read: 0, total: 0 };
    try {
      const result = await this.runWithFallback(agent, input, deadline.signal, tokens, new Set());
      return { ...result, tokens, duration_ms: Date.now() - started };
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
    signal: AbortSignal,
    tokens: Tokens,
    tried: Set<string>,
  ): Promise<Omit<RunResult, 'tokens' | 'duration_ms'>> {
    tried.add(agent.name);
    try {
      return await this.loop(agent, input, signal, tokens);
    } catch (err) {
      const next = agent.onError === 'fallback' && agent.fallback !== undefined ? this.agents.get(agent.fallback) : undefined;
      // A deadline or a departed client ends the whole request, and a bad request stays bad:
      // a fallback cannot help with those.
      if (next === undefined || signal.aborted || tried.has(next.name) || err instanceof MissingVariableError) throw err;
      logger('runtime').warn({ agent: agent.name, fallback: next.name, err: errorMessage(err) }, 'agent failed, using fallback');
      return this.runWithFallback(next, { ...input, transcript: undefined }, signal, tokens, tried);
    }
  }

  private async loop(agent: AgentDefinition, input: RunInput, signal: AbortSignal, tokens: Tokens): Promise<Omit<RunResult, 'tokens' | 'duration_ms'>> {
    const system = renderPrompt(agent.prompt, input.variables);
    const userMessage: Message = { role: 'user', content: input.message };
    const turnMessages: Message[] = [userMessage];
    input.transcript?.push(userMessage);
    const record = (m: Message): void => {
      turnMessages.push(m);
      input.transcript?.push(m);
    };
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
      const res = await this.callModel(agent, system, [...history, ...turnMessages], Math.min(MAX_TOKENS_PER_CALL, remaining), input, signal);
      turns++;
      addUsage(tokens, res.usage);
      output = res.text;
      const assistant: Message = { role: 'assistant', content: res.text };
      if (res.tool_calls.length > 0) assistant.tool_calls = res.tool_calls;
      record(assistant);
      if (res.tool_calls.length === 0) {
        stop = res.stop_reason === 'max_tokens' ? 'max_tokens' : 'end_turn';
        break;
      }
      toolCalls.push(...res.tool_calls);
      const results = await runTools(agent, res.tool_calls, { signal, ...(input.sessionId === undefined ? {} : { session: input.sessionId }) });
      for (const r of results) {
        record(r.message);
        if (r.duration_ms !== undefined) durations[r.message.tool_result?.tool_call_id ?? ''] = r.duration_ms;
      }
      if (agent.tokenBudget !== undefined && tokens.total >= agent.tokenBudget) {
        stop = 'token_budget';
        break;
      }
    }
    if (stop !== 'end_turn') logger('runtime').warn({ agent: agent.name, turns, tokens: tokens.total, stop_reason: stop }, 'agent stopped before a final answer');
    return { output, tool_calls: toolCalls, tool_durations: durations, turns, stop_reason: stop, answered_by: agent.name, messages: turnMessages };
  }

  /** One model call with the agent's retries. A stream that already sent text is not retried. */
  private async callModel(
    agent: AgentDefinition,
    system: string,
    messages: Message[],
    maxTokens: number,
    input: RunInput,
    signal: AbortSignal,
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
        const res = await agent.resolved.provider.complete({
          model: agent.resolved.model,
          system,
          messages,
          tools: agent.tools,
          ...(agent.temperature === undefined ? {} : { temperature: agent.temperature }),
          maxTokens,
          signal,
          ...(onText === undefined ? {} : { onText }),
        });
        recordModelCall(agent.name, provider, 'ok', performance.now() - callStarted, res.usage);
        return res;
      } catch (err) {
        recordModelCall(agent.name, provider, signal.aborted ? 'aborted' : 'error', performance.now() - callStarted);
        const retry = err instanceof ProviderError && err.retryable && !sent && !signal.aborted && attempt < agent.maxRetries;
        if (!retry) throw err;
        const delay = Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** attempt) * (0.5 + Math.random() / 2);
        logger('runtime').warn({ agent: agent.name, attempt: attempt + 1, max_retries: agent.maxRetries, delay_ms: Math.round(delay), err: errorMessage(err) }, 'model call failed, retrying');
        await sleep(delay, signal);
      }
    }
  }
}
