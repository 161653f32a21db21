import { logger } from '../log.ts';
import type { Message } from '../session/types.ts';

export const REPAIRED_RESULT = 'this tool call has no result (the turn that made it did not finish); it was not completed';

/**
 * The history as a provider accepts it: every assistant tool call followed by its result before
 * the next user or assistant message, and no result without its call. A partial turn (kept by
 * `save_partial`) or history written elsewhere is repaired here, in what is sent, not in the store.
 */
export function repairToolPairs(history: Message[], ctx: { agent: string; session?: string | undefined }): Message[] {
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
