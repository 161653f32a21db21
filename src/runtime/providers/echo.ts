import type { Message } from '../../session/types.ts';
import type { ModelRequest, ModelResponse, Provider } from './types.ts';

/** Rough token count (whitespace-separated words): deterministic, so tests can assert it. */
function countTokens(text: string): number {
  const t = text.trim();
  return t === '' ? 0 : t.split(/\s+/).length;
}

function lastUserText(messages: Message[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (m?.role === 'user' && m.content !== undefined) return m.content;
  }
  return '';
}

/**
 * A deterministic local model that needs no key: it answers `echo: <last user message>
 * (messages: N)` where N is how many messages it was sent. Streaming sends the answer word by word.
 */
export class EchoProvider implements Provider {
  readonly name = 'echo';

  problem(): string | undefined {
    return undefined;
  }

  async complete(req: ModelRequest): Promise<ModelResponse> {
    if (req.signal.aborted) throw req.signal.reason;
    const text = `echo: ${lastUserText(req.messages)} (messages: ${req.messages.length})`;
    if (req.onText !== undefined) {
      const pieces = text.split(/(?<= )/);
      for (const piece of pieces) {
        // Yield between deltas so a stream is really delivered in pieces, and aborts are seen.
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (req.signal.aborted) throw req.signal.reason;
        req.onText(piece);
      }
    }
    const input = countTokens(req.system) + req.messages.reduce((n, m) => n + countTokens(m.content ?? ''), 0);
    return { text, tool_calls: [], usage: { input, output: countTokens(text), cache_read: 0 }, stop_reason: 'end_turn' };
  }
}
