import { MEMORY_STRATEGIES } from '../ir/attributes.ts';
import type { JsonValue } from '../ir/types.ts';
import { logger } from '../log.ts';
import type { Message, MessagePage, SessionStore, SessionSummary } from '../session/types.ts';
import { RequestTimeoutError, requestDeadline } from './agent-loop.ts';
import type { AgentDefinition } from './agents.ts';
import type { CallMetrics } from './metrics.ts';
import type { TokenUsage } from './providers/index.ts';
import { sliceOf } from '../session/stretches.ts';
import { countOf, MessageCount, sumOf } from './tokens.ts';

/**
 * Memory windows (the agent's `memory` block): what part of a session's history a turn sends to
 * the model, so that the cost of a turn does not grow with the whole history. The stored history
 * is never changed; only what is read and sent is bounded.
 */

export type MemoryStrategy = (typeof MEMORY_STRATEGIES)[number];

export interface MemoryWindow {
  strategy: MemoryStrategy;
  /** Stored messages sent with each turn (before widening to keep tool calls with their results). */
  maxMessages: number;
}

/** The window of an agent without a `memory` block, or of a block that sets no `max_messages`. */
export const DEFAULT_WINDOW_MESSAGES = 100;
/** Tokens left free for the answer when the window is fitted into the model's context. */
export const ANSWER_RESERVE_TOKENS = 4096;
/** A window cutting into a turn is widened back to the user message that began it, reading at most this many more messages. */
const PAIR_LOOKBACK = 16;
const PAIR_LOOKBACK_READS = 8;
/** At most this many messages are folded into a summary at once (a long history switched to `summary`). */
const MAX_FOLD_MESSAGES = 200;
/** Characters of one message kept in the text a summary is made from. */
const FOLD_MESSAGE_CHARS = 2000;
const SUMMARY_MAX_TOKENS = 1024;

export const SUMMARY_INSTRUCTIONS =
  'You keep a running summary of a conversation between a user and an assistant. Merge the summary so far ' +
  'with the new messages into one short summary (at most 200 words) that keeps names, facts, decisions and ' +
  'open questions. Answer with the summary only.';

const isRecord = (v: JsonValue | undefined): v is { [k: string]: JsonValue } => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The window an agent's `memory` attribute asks for, or why it cannot be used. Absent: the
 * default sliding window. Environment overrides may give `max_messages` as a string.
 */
export function memoryWindowOf(value: JsonValue | undefined): MemoryWindow | { problem: string } {
  if (value === undefined) return { strategy: 'sliding_window', maxMessages: DEFAULT_WINDOW_MESSAGES };
  if (!isRecord(value)) return { problem: 'memory must be a block like memory { strategy "sliding_window" max_messages 20 }' };
  const strategy = value.strategy ?? 'sliding_window';
  if (typeof strategy !== 'string' || !(MEMORY_STRATEGIES as readonly string[]).includes(strategy)) {
    return { problem: `memory strategy ${JSON.stringify(strategy)} is not one of ${MEMORY_STRATEGIES.join(', ')}` };
  }
  const raw = value.max_messages;
  const max = raw === undefined ? DEFAULT_WINDOW_MESSAGES : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
  if (typeof max !== 'number' || !Number.isSafeInteger(max) || max <= 0) return { problem: `memory max_messages ${JSON.stringify(raw)} is not a positive integer` };
  return { strategy: strategy as MemoryStrategy, maxMessages: max };
}

const ESTIMATE = new MessageCount((m) => {
  let chars = (m.content ?? '').length + (m.tool_result?.content.length ?? 0);
  for (const c of m.tool_calls ?? []) chars += c.name.length + JSON.stringify(c.input ?? {}).length;
  return Math.ceil(chars / 4) + 4;
});

/**
 * A rough token count (4 characters a token, plus a little per message): enough to stay under a
 * context size. A stored message's estimate is made once (see tokens.ts).
 */
export function estimateTokens(m: Message | string): number {
  if (typeof m === 'string') return Math.ceil(m.length / 4);
  return countOf(m, ESTIMATE);
}

export interface LoadedWindow {
  /** The stored messages the model is sent, oldest first. */
  messages: Message[];
  /** Messages in the whole stored history. */
  total: number;
  /** Index in the history of `messages[0]`: how many stored messages are not sent. */
  start: number;
  /** Strategy `summary`: the summary stored with the session. */
  summary?: SessionSummary;
  /** Strategy `summary`: messages before `start` the stored summary does not cover yet. */
  unsummarized: Message[];
}

/** How many messages precede the first user message (all of them when there is none). */
function beforeFirstUser(messages: Message[], from = 0): number {
  let n = from;
  while (n < messages.length && messages[n]?.role !== 'user') n++;
  return n - from;
}

/**
 * Reads the window of a session's history: the last `maxMessages` messages (one tail read). A
 * window starts at a user message, as providers expect a conversation to: one that would cut into
 * a turn is widened back to the user message that began it, so a tool result never arrives
 * without the call that asked for it. Then it is cut from the front, a turn at a time, until it
 * fits the model's context next to the system prompt, the new message and room for the answer. For strategy `summary` it also reads what fell out of the window since
 * the summary was last updated.
 */
export async function loadWindow(
  store: SessionStore,
  sessionId: string,
  agent: AgentDefinition,
  sent: { system: string; message: string },
  /** The tail read already (with the turn's lease), if it was. */
  tail?: MessagePage,
): Promise<LoadedWindow> {
  const window = agent.memory;
  const page = tail ?? (await store.loadMessages(sessionId, { tail: window.maxMessages }));
  let messages = page.messages;
  let start = page.total - messages.length;
  for (let reads = 0; messages.length > 0 && messages[0]?.role !== 'user' && start > 0 && reads < PAIR_LOOKBACK_READS; reads++) {
    const from = Math.max(0, start - PAIR_LOOKBACK);
    const before = (await store.loadMessages(sessionId, { offset: from, limit: start - from })).messages;
    let turnStart = before.length - 1;
    while (turnStart >= 0 && before[turnStart]?.role !== 'user') turnStart--;
    if (turnStart >= 0) {
      messages = [...before.slice(turnStart), ...messages];
      start = from + turnStart;
      break;
    }
    messages = [...before, ...messages];
    start = from;
  }
  // A turn whose beginning is out of reach is left out rather than sent cut.
  let cut = beforeFirstUser(messages);
  const budget = agent.resolved.contextTokens - ANSWER_RESERVE_TOKENS - estimateTokens(sent.system) - estimateTokens(sent.message) - estimateTokens(page.summary?.text ?? '');
  // The window as a whole: a stretch seen last turn is not read again.
  let tokens = sumOf(messages, ESTIMATE, cut);
  while (cut < messages.length && tokens > budget) {
    const turn = 1 + beforeFirstUser(messages, cut + 1);
    for (let i = 0; i < turn; i++) tokens -= estimateTokens(messages[cut + i]!);
    cut += turn;
  }
  if (cut > 0) {
    logger('runtime').debug({ agent: agent.name, session_id: sessionId, left_out: cut }, 'memory window narrowed to whole turns under the model context');
    messages = sliceOf(messages, cut);
    start += cut;
  }
  const loaded: LoadedWindow = { messages, total: page.total, start, unsummarized: [] };
  if (window.strategy !== 'summary') return loaded;
  if (page.summary !== undefined) loaded.summary = page.summary;
  const covered = page.summary?.covers ?? 0;
  if (covered < start) {
    const from = Math.max(covered, start - MAX_FOLD_MESSAGES);
    if (from > covered) logger('runtime').warn({ agent: agent.name, session_id: sessionId, skipped: from - covered }, 'too many messages to fold into the summary at once; the oldest are left out of it');
    loaded.unsummarized = (await store.loadMessages(sessionId, { offset: from, limit: start - from })).messages;
  }
  return loaded;
}

function clip(text: string): string {
  return text.length > FOLD_MESSAGE_CHARS ? `${text.slice(0, FOLD_MESSAGE_CHARS)}…` : text;
}

/** The text a summary is made from: the summary so far and the messages to fold into it, one a line. */
export function foldText(previous: string | undefined, messages: Message[]): string {
  const lines: string[] = [];
  if (previous !== undefined && previous !== '') lines.push(`Summary so far: ${previous}`, '');
  lines.push('New messages:');
  for (const m of messages) {
    if (m.role === 'tool') {
      lines.push(`tool result: ${clip(m.tool_result?.content ?? '')}`);
      continue;
    }
    const calls = (m.tool_calls ?? []).map((c) => ` [calls ${c.name} with ${clip(JSON.stringify(c.input ?? {}))}]`).join('');
    lines.push(`${m.role}: ${clip(m.content ?? '')}${calls}`);
  }
  return lines.join('\n');
}

export interface TurnMemory {
  /** The summary to send with the turn (strategy `summary`). */
  summaryText?: string;
  /** A new summary to store with the turn's append. */
  store?: SessionSummary;
  /** Tokens the summary call used. */
  usage?: TokenUsage;
}

/**
 * Strategy `summary`: folds the messages that left the window into the running summary with one
 * call of the agent's own model. The new summary is sent with this turn and stored with its
 * append, so the stored summary and the history it covers change together.
 */
export async function foldSummary(agent: AgentDefinition, loaded: LoadedWindow | undefined, clientSignal?: AbortSignal, metrics?: CallMetrics): Promise<TurnMemory> {
  if (loaded === undefined || agent.memory.strategy !== 'summary') return {};
  const previous = loaded.summary?.text;
  if (loaded.unsummarized.length === 0) return previous === undefined ? {} : { summaryText: previous };
  const provider = agent.resolved.provider;
  // Bounded by the agent's timeout like the model calls of the turn itself, with the runner's
  // deadline: its timer is cleared when the call ends instead of living for the whole timeout.
  const deadline = requestDeadline(agent, clientSignal);
  const { signal } = deadline;
  const started = performance.now();
  try {
    const res = await provider.complete({
      model: agent.resolved.model,
      system: SUMMARY_INSTRUCTIONS,
      messages: [{ role: 'user', content: foldText(previous, loaded.unsummarized) }],
      tools: [],
      maxTokens: SUMMARY_MAX_TOKENS,
      signal,
      task: 'summarize',
    });
    metrics?.modelCall(agent.name, provider.name, 'ok', (performance.now() - started) / 1000, res.usage);
    const text = res.text.trim();
    return { summaryText: text, store: { text, covers: loaded.start }, usage: res.usage };
  } catch (err) {
    metrics?.modelCall(agent.name, provider.name, signal.aborted ? 'aborted' : 'error', (performance.now() - started) / 1000);
    if (deadline.timedOut()) throw new RequestTimeoutError(agent.name, agent.timeoutMs);
    throw err;
  } finally {
    deadline.release();
  }
}

/** The system prompt with the running summary of what the window leaves out. */
export function withSummary(system: string, summary: string | undefined): string {
  if (summary === undefined || summary === '') return system;
  const block = `Summary of the earlier conversation:\n${summary}`;
  return system === '' ? block : `${system}\n\n${block}`;
}
