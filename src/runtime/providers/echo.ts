import type { Message, ToolCall } from '../../session/types.ts';
import { countWords, MessageCount, sumOf } from '../tokens.ts';
import type { ModelRequest, ModelResponse, Provider } from './types.ts';

// Echo counts tokens as white-space-separated words: deterministic, so tests can assert them.
const CONTENT_WORDS = new MessageCount((m) => (m.content === undefined ? 0 : countWords(m.content)));

/** The system prompt is the same text call after call: its count is kept for the last one seen. */
let lastSystem = '';
let lastSystemWords = 0;

function systemWords(system: string): number {
  if (system !== lastSystem) {
    lastSystem = system;
    lastSystemWords = countWords(system);
  }
  return lastSystemWords;
}

/** What a request's prompt counts: the system prompt and every message's content. */
function inputTokens(req: ModelRequest): number {
  const window = req.window;
  const messages = window === undefined ? sumOf(req.messages, CONTENT_WORDS) : sumOf(window, CONTENT_WORDS) + sumOf(req.messages, CONTENT_WORDS, window.length);
  return systemWords(req.system) + messages;
}

function lastUserText(messages: Message[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (m?.role === 'user' && m.content !== undefined) return m.content;
  }
  return '';
}

/** How many words of what it is asked to summarize echo keeps: a summary must stay bounded. */
const SUMMARY_WORDS = 32;

function lastWords(text: string, n: number): string {
  const words = text.trim().split(/\s+/);
  return words.slice(Math.max(0, words.length - n)).join(' ');
}

const TOOL_COMMAND = /^\/tool\s+(\S+)\s*([\s\S]*)$/;

/**
 * `/tool SKILL {json}` as a tool call, or the text to answer when the message is malformed.
 * The call id is derived from the position in the conversation, so replays are deterministic.
 */
function toolCommand(text: string, position: number): { call: ToolCall } | { text: string } | undefined {
  const m = TOOL_COMMAND.exec(text.trim());
  if (m === null) return undefined;
  const name = m[1] ?? '';
  const json = (m[2] ?? '').trim();
  let input: unknown = {};
  if (json !== '') {
    try {
      input = JSON.parse(json);
    } catch (err) {
      return { text: `echo: /tool ${name}: the arguments are not JSON (${err instanceof Error ? err.message : String(err)}); write /tool ${name} {"field": "value"}` };
    }
  }
  return { call: { id: `toolu_echo_${position}`, name, input } };
}

/**
 * A deterministic local model that needs no key: it answers `echo: <last user message>
 * (messages: N)` where N is how many messages the conversation holds (those it was sent plus the
 * earlier ones the memory window left out). Asked for a summary, it answers `summary: ` and the
 * last 32 words of the text to summarize. A user message `/tool SKILL {json}`
 * is a call of that tool with those arguments, answered with the tool's result once it is back.
 * Streaming sends the answer word by word.
 */
export class EchoProvider implements Provider {
  readonly name = 'echo';

  problem(): string | undefined {
    return undefined;
  }

  async complete(req: ModelRequest): Promise<ModelResponse> {
    if (req.aborted ?? req.signal.aborted) throw req.signal.reason;
    const last = req.messages[req.messages.length - 1];
    const input = inputTokens(req);
    if (last?.role === 'user' && last.content !== undefined) {
      const cmd = toolCommand(last.content, req.messages.length);
      if (cmd !== undefined && 'call' in cmd) {
        return { text: '', tool_calls: [cmd.call], usage: { input, output: 1, cache_read: 0 }, stop_reason: 'tool_use' };
      }
      if (cmd !== undefined) return this.answer(cmd.text, req, input);
    }
    if (last?.role === 'tool' && last.tool_result !== undefined) {
      const r = last.tool_result;
      return this.answer(r.is_error === true ? `tool error: ${r.content}` : r.content, req, input);
    }
    if (req.task === 'summarize') return this.answer(`summary: ${lastWords(lastUserText(req.messages), SUMMARY_WORDS)}`, req, input);
    const conversation = req.messages.length + (req.earlierMessages ?? 0);
    return this.answer(`echo: ${lastUserText(req.messages)} (messages: ${conversation})`, req, input);
  }

  private async answer(text: string, req: ModelRequest, input: number): Promise<ModelResponse> {
    if (req.onText !== undefined) {
      const pieces = text.split(/(?<= )/);
      for (const piece of pieces) {
        // Yield between deltas so a stream is really delivered in pieces, and aborts are seen.
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (req.aborted ?? req.signal.aborted) throw req.signal.reason;
        req.onText(piece);
      }
    }
    return { text, tool_calls: [], usage: { input, output: countWords(text), cache_read: 0 }, stop_reason: 'end_turn' };
  }
}
