import type { Message, ToolCall } from '../../session/types.ts';
import { MissingApiKeyError, ProviderError } from './errors.ts';
import { asNumber, asRecord, postJson, readJson } from './http.ts';
import { parseSse } from './sse.ts';
import { emptyUsage, type ModelRequest, type ModelResponse, type Provider, type TokenUsage } from './types.ts';

export const ANTHROPIC_VERSION = '2023-06-01';
const NAME = 'anthropic';

type Block = Record<string, unknown>;
interface WireMessage {
  role: 'user' | 'assistant';
  content: Block[];
}

/** Our history as Anthropic messages: tool results travel as user blocks; same-role runs merge. */
export function toAnthropicMessages(messages: Message[]): WireMessage[] {
  const out: WireMessage[] = [];
  for (const m of messages) {
    let role: 'user' | 'assistant';
    const blocks: Block[] = [];
    if (m.role === 'assistant') {
      role = 'assistant';
      if (m.content !== undefined && m.content !== '') blocks.push({ type: 'text', text: m.content });
      for (const c of m.tool_calls ?? []) blocks.push({ type: 'tool_use', id: c.id, name: c.name, input: c.input ?? {} });
    } else if (m.role === 'tool') {
      role = 'user';
      if (m.tool_result !== undefined) {
        blocks.push({
          type: 'tool_result',
          tool_use_id: m.tool_result.tool_call_id,
          content: m.tool_result.content,
          ...(m.tool_result.is_error === true ? { is_error: true } : {}),
        });
      }
    } else if (m.role === 'user') {
      role = 'user';
      if (m.content !== undefined) blocks.push({ type: 'text', text: m.content });
    } else {
      continue; // system text is sent in `system`, never as a turn
    }
    if (blocks.length === 0) continue;
    const last = out[out.length - 1];
    if (last !== undefined && last.role === role) last.content.push(...blocks);
    else out.push({ role, content: blocks });
  }
  return out;
}

function usageFrom(u: unknown, into: TokenUsage): void {
  const r = asRecord(u);
  if ('input_tokens' in r) into.input = asNumber(r.input_tokens);
  if ('output_tokens' in r) into.output = asNumber(r.output_tokens);
  if ('cache_read_input_tokens' in r) into.cache_read = asNumber(r.cache_read_input_tokens);
}

function stopReason(r: unknown): string {
  return r === 'end_turn' || r === 'tool_use' || r === 'max_tokens' ? r : typeof r === 'string' ? r : 'other';
}

/** Anthropic Messages API (POST {base}/v1/messages). */
export class AnthropicProvider implements Provider {
  readonly name = NAME;
  private readonly baseUrl: string;
  private readonly apiKey: string | undefined;

  constructor(opts: { baseUrl: string; apiKey: string | undefined }) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.apiKey = opts.apiKey;
  }

  problem(): string | undefined {
    return this.apiKey === undefined || this.apiKey === '' ? 'ANTHROPIC_API_KEY is not set' : undefined;
  }

  async complete(req: ModelRequest): Promise<ModelResponse> {
    if (this.apiKey === undefined || this.apiKey === '') throw new MissingApiKeyError(NAME, 'ANTHROPIC_API_KEY');
    const streaming = req.onText !== undefined;
    const body: Record<string, unknown> = {
      model: req.model,
      max_tokens: req.maxTokens,
      system: req.system,
      messages: toAnthropicMessages(req.messages),
    };
    if (req.temperature !== undefined) body.temperature = req.temperature;
    if (req.tools.length > 0) body.tools = req.tools.map((t) => ({ name: t.name, description: t.description, input_schema: t.input_schema }));
    if (streaming) body.stream = true;
    const res = await postJson(
      NAME,
      `${this.baseUrl}/v1/messages`,
      { 'x-api-key': this.apiKey, 'anthropic-version': ANTHROPIC_VERSION, accept: streaming ? 'text/event-stream' : 'application/json' },
      body,
      req.signal,
    );
    return streaming ? this.readStream(res, req) : this.readMessage(await readJson(NAME, res, req.signal));
  }

  private readMessage(json: unknown): ModelResponse {
    const msg = asRecord(json);
    if (!Array.isArray(msg.content)) throw new ProviderError(NAME, 'response has no content array', { retryable: false });
    let text = '';
    const toolCalls: ToolCall[] = [];
    for (const raw of msg.content) {
      const b = asRecord(raw);
      if (b.type === 'text' && typeof b.text === 'string') text += b.text;
      else if (b.type === 'tool_use') toolCalls.push({ id: String(b.id), name: String(b.name), input: b.input ?? {} });
    }
    const usage = emptyUsage();
    usageFrom(msg.usage, usage);
    return { text, tool_calls: toolCalls, usage, stop_reason: stopReason(msg.stop_reason) };
  }

  private async readStream(res: Response, req: ModelRequest): Promise<ModelResponse> {
    const usage = emptyUsage();
    let text = '';
    let stop = '';
    let finished = false;
    const tools = new Map<number, { id: string; name: string; json: string }>();
    try {
      for await (const ev of parseSse(res.body as unknown as AsyncIterable<Uint8Array>)) {
        if (ev.event === 'ping') continue;
        let data: Record<string, unknown>;
        try {
          data = asRecord(JSON.parse(ev.data));
        } catch (err) {
          throw new ProviderError(NAME, `stream event "${ev.event}" is not JSON`, { retryable: true, cause: err });
        }
        const type = typeof data.type === 'string' ? data.type : ev.event;
        if (type === 'message_start') usageFrom(asRecord(data.message).usage, usage);
        else if (type === 'content_block_start') {
          const block = asRecord(data.content_block);
          if (block.type === 'tool_use') tools.set(asNumber(data.index), { id: String(block.id), name: String(block.name), json: '' });
          else if (block.type === 'text' && typeof block.text === 'string' && block.text !== '') {
            text += block.text;
            req.onText?.(block.text);
          }
        } else if (type === 'content_block_delta') {
          const delta = asRecord(data.delta);
          if (delta.type === 'text_delta' && typeof delta.text === 'string') {
            text += delta.text;
            req.onText?.(delta.text);
          } else if (delta.type === 'input_json_delta' && typeof delta.partial_json === 'string') {
            const t = tools.get(asNumber(data.index));
            if (t !== undefined) t.json += delta.partial_json;
          }
        } else if (type === 'message_delta') {
          stop = stopReason(asRecord(data.delta).stop_reason);
          usageFrom(data.usage, usage);
        } else if (type === 'message_stop') finished = true;
        else if (type === 'error') {
          const e = asRecord(data.error);
          const overloaded = e.type === 'overloaded_error' || e.type === 'api_error';
          throw new ProviderError(NAME, `stream error: ${String(e.message ?? e.type ?? 'unknown')}`, { retryable: overloaded });
        }
      }
    } catch (err) {
      if (req.signal.aborted) throw req.signal.reason;
      if (err instanceof ProviderError) throw err;
      throw new ProviderError(NAME, `stream broke: ${err instanceof Error ? err.message : String(err)}`, { retryable: true, cause: err });
    }
    if (!finished) throw new ProviderError(NAME, 'stream ended before message_stop', { retryable: true });
    const toolCalls: ToolCall[] = [];
    for (const t of [...tools.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1])) {
      let input: unknown = {};
      if (t.json !== '') {
        try {
          input = JSON.parse(t.json);
        } catch (err) {
          throw new ProviderError(NAME, `tool_use "${t.name}" input is not JSON`, { retryable: true, cause: err });
        }
      }
      toolCalls.push({ id: t.id, name: t.name, input });
    }
    return { text, tool_calls: toolCalls, usage, stop_reason: stop === '' ? 'other' : stop };
  }
}
