import { logger } from '../log.ts';
import type { Message, ToolCall } from '../session/types.ts';
import { tallyAfterFirst, type Tally } from './tokens.ts';

export const REPAIRED_RESULT = 'this tool call has no result (the turn that made it did not finish); it was not completed';

/**
 * The history as a provider accepts it: every assistant tool call followed by its result before
 * the next user or assistant message, and no result without its call. A partial turn (kept by
 * `save_partial`) or history written elsewhere is repaired here, in what is sent, not in the store.
 */
export function repairToolPairs(history: Message[], ctx: { agent: string; session?: string | undefined }): Message[] {
  // Every turn sends its window through here, and nearly always there is nothing to repair.
  if (knownPaired(history) ?? isPaired(history)) return history;
  const out: Message[] = [];
  let open: Map<string, true> | undefined;
  let repaired = 0;
  let dropped = 0;
  const closeOpen = (): void => {
    if (open === undefined) return;
    for (const id of open.keys()) {
      out.push({ role: 'tool', tool_result: { tool_call_id: id, content: REPAIRED_RESULT, is_error: true } });
      repaired++;
    }
    open = undefined;
  };
  for (const m of history) {
    if (m.role === 'tool') {
      const id = m.tool_result?.tool_call_id;
      if (id !== undefined && open?.delete(id) === true) out.push(m);
      else dropped++;
      continue;
    }
    closeOpen();
    out.push(m);
    if (m.role === 'assistant' && m.tool_calls !== undefined && m.tool_calls.length > 0) open = new Map(m.tool_calls.map((c) => [c.id, true]));
  }
  closeOpen();
  if (repaired > 0 || dropped > 0) logger('runtime').warn({ agent: ctx.agent, session: ctx.session, repaired, dropped }, 'history had unpaired tool calls; repaired before sending it to the model');
  return repaired > 0 || dropped > 0 ? out : history;
}

/** Past this many calls in one message the checks leave the answer to the repair itself (their lookups are linear). */
const MAX_CHECKED_CALLS = 32;

interface PairState {
  /** The calls of the assistant message before the tool results being read. */
  calls: readonly ToolCall[] | undefined;
  /** Where its results begin. */
  firstResult: number;
  answered: number;
}

/**
 * 1 for a message after which the repair would change something: a tool result that is not
 * the first answer to a call of the assistant message before its results, or a message that
 * follows that assistant message's results while some of its calls are unanswered.
 */
const unpaired: Tally<PairState> = {
  start: () => ({ calls: undefined, firstResult: 0, answered: 0 }),
  step(members, i, state) {
    const m = members[i]!;
    if (m.role === 'tool') {
      const id = m.tool_result?.tool_call_id;
      if (state.calls === undefined || id === undefined || !hasCall(state.calls, id) || answeredIn(members, state.firstResult, i, id)) return 1;
      state.answered++;
      return 0;
    }
    const bad = state.calls !== undefined && state.answered !== state.calls.length ? 1 : 0;
    state.calls = undefined;
    const made = m.role === 'assistant' ? m.tool_calls : undefined;
    if (made !== undefined && made.length > 0) {
      if (made.length > MAX_CHECKED_CALLS) return 1;
      state.calls = made;
      state.firstResult = i + 1;
      state.answered = 0;
    }
    return bad;
  },
};

/**
 * The answer of isPaired without reading the history, when it is a stretch of messages seen
 * before (a session's window, turn after turn; see tokens.ts): nothing unpaired after its first
 * message, which is no tool result, and its last assistant message's calls all answered.
 * Undefined when the history is not such a stretch.
 */
function knownPaired(history: readonly Message[]): boolean | undefined {
  const marks = tallyAfterFirst(history, unpaired);
  if (marks === undefined) return undefined;
  if (marks > 0 || history[0]!.role === 'tool') return false;
  // Every result at the end answers a call of the message before them (no marks): all are there when they are as many.
  let results = 0;
  let i = history.length - 1;
  for (; i >= 0 && history[i]!.role === 'tool'; i--) results++;
  const calls = history[i]?.role === 'assistant' ? history[i]!.tool_calls : undefined;
  return calls === undefined || calls.length === 0 ? results === 0 : results === calls.length;
}

/**
 * True when the repair would change nothing: every run of tool results answers, once each, every
 * call of the assistant message just before it (the `unpaired` tally, read in one pass). False means only that the
 * repair must look (a message with repeated call ids, or very many calls, is left to it).
 */
function isPaired(history: readonly Message[]): boolean {
  const state = unpaired.start();
  for (let i = 0; i < history.length; i++) if (unpaired.step(history, i, state) > 0) return false;
  return state.calls === undefined || state.answered === state.calls.length;
}

function hasCall(calls: readonly ToolCall[], id: string): boolean {
  for (const c of calls) if (c.id === id) return true;
  return false;
}

/** Whether one of history[from..to) is the result of call `id`. */
function answeredIn(history: readonly Message[], from: number, to: number, id: string): boolean {
  for (let j = from; j < to; j++) if (history[j]!.tool_result?.tool_call_id === id) return true;
  return false;
}
