import type { Message, ToolCall } from '../../session/types.ts';
import { MissingApiKeyError, ProviderError } from './errors.ts';
import { asNumber, asRecord, postJson, readJson } from './http.ts';
import { parseSse } from './sse.ts';
import { emptyUsage, type ModelRequest, type ModelResponse, type Provider, type TokenUsage } from './types.ts';

type WireMessage = Record<string, unknown>;

/** Our history as Chat Completions messages, the system prompt first. */
export function toOpenAiMessages(system: string, messages: Message[]): WireMessage[] {
  const out: WireMessage[] = [];
  if (system !== '') out.push({ role: 'system', content: system });
  for (const m of messages) {
    if (m.role === 'assistant') {
      const w: WireMessage = { role: 'assistant', content: m.content ?? null };
      if (m.tool_calls !== undefined && m.tool_calls.length > 0) {
        w.tool_calls = m.tool_calls.map((c) => ({
          id: c.id,
          type: 'function',
          function: { name: c.name, arguments: JSON.stringify(c.input ?? {}) },
        }));
      }
      out.push(w);
    } else if (m.role === 'tool') {
      if (m.tool_result !== undefined) out.push({ role: 'tool', tool_call_id: m.tool_result.tool_call_id, content: m.tool_result.content });
    } else if (m.role === 'user' || m.role === 'system') {
      out.push({ role: m.role, content: m.content ?? '' });
    }
  }
  return out;
}

function usageFrom(u: unknown, into: TokenUsage): void {
  const r = asRecord(u);
  if (!('prompt_tokens' in r)) return;
  // prompt_tokens includes cached tokens; report them apart, as the Anthropic path does.
  const cached = asNumber(asRecord(r.prompt_tokens_details).cached_tokens);
  into.input = asNumber(r.prompt_tokens) - cached;
  into.output = asNumber(r.completion_tokens);
  into.cache_read = cached;
}

function stopReason(r: unknown): string {
  if (r === 'stop') return 'end_turn';
  if (r === 'tool_calls' || r === 'function_call') return 'tool_use';
  if (r === 'length') return 'max_tokens';
  return typeof r === 'string' ? r : 'other';
}

function parseArguments(provider: string, name: string, args: string): unknown {
  if (args.trim() === '') return {};
  try {
    return JSON.parse(args);
  } catch (err) {
    throw new ProviderError(provider, `tool call "${name}" arguments are not JSON`, { retryable: true, cause: err });
  }
}

/** OpenAI-compatible Chat Completions (OpenAI, Ollama, vLLM): POST {base}/chat/completions. */
export class OpenAiProvider implements Provider {
  readonly name: string;
  private readonly baseUrl: string;
  private readonly apiKey: string | undefined;
  /** Env variable that holds the key, or undefined when the server needs none (Ollama). */
  private readonly keyVariable: string | undefined;

  constructor(opts: { name: string; baseUrl: string; apiKey: string | undefined; keyVariable: string | undefined }) {
    this.name = opts.name;
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.apiKey = opts.apiKey;
    this.keyVariable = opts.keyVariable;
  }

  problem(): string | undefined {
    const keyless = this.apiKey === undefined || this.apiKey === '';
    return keyless && this.keyVariable !== undefined ? `${this.keyVariable} is not set` : undefined;
  }

  async complete(req: ModelRequest): Promise<ModelResponse> {
    const headers: Record<string, string> = {};
    if (this.apiKey !== undefined && this.apiKey !== '') headers.authorization = `Bearer ${this.apiKey}`;
    else if (this.keyVariable !== undefined) throw new MissingApiKeyError(this.name, this.keyVariable);
    const streaming = req.onText !== undefined;
    const body: Record<string, unknown> = { model: req.model, messages: toOpenAiMessages(req.system, req.messages) };
    if (req.temperature !== undefined) body.temperature = req.temperature;
    if (req.tools.length > 0) {
      body.tools = req.tools.map((t) => ({ type: 'function', function: { name: t.name, description: t.description, parameters: t.input_schema } }));
    }
    if (streaming) {
      body.stream = true;
      body.stream_options = { include_usage: true };
    }
    headers.accept = streaming ? 'text/event-stream' : 'application/json';
    const res = await postJson(this.name, `${this.baseUrl}/chat/completions`, headers, body, req.signal);
    return streaming ? this.readStream(res, req) : this.readCompletion(await readJson(this.name, res, req.signal));
  }

  private readCompletion(json: unknown): ModelResponse {
    const r = asRecord(json);
    const choice = Array.isArray(r.choices) ? asRecord(r.choices[0]) : undefined;
    if (choice === undefined) throw new ProviderError(this.name, 'response has no choices', { retryable: false });
    const msg = asRecord(choice.message);
    const toolCalls: ToolCall[] = [];
    for (const raw of Array.isArray(msg.tool_calls) ? msg.tool_calls : []) {
      const c = asRecord(raw);
      const fn = asRecord(c.function);
      const name = String(fn.name);
      toolCalls.push({ id: String(c.id), name, input: parseArguments(this.name, name, typeof fn.arguments === 'string' ? fn.arguments : '') });
    }
    const usage = emptyUsage();
    usageFrom(r.usage, usage);
    return { text: typeof msg.content === 'string' ? msg.content : '', tool_calls: toolCalls, usage, stop_reason: stopReason(choice.finish_reason) };
  }

  private async readStream(res: Response, req: ModelRequest): Promise<ModelResponse> {
    const usage = emptyUsage();
    let text = '';
    let finish: unknown;
    let done = false;
    const tools = new Map<number, { id: string; name: string; args: string }>();
    try {
      for await (const ev of parseSse(res.body as unknown as AsyncIterable<Uint8Array>)) {
        if (ev.data === '[DONE]') {
          done = true;
          break;
        }
        let chunk: Record<string, unknown>;
        try {
          chunk = asRecord(JSON.parse(ev.data));
        } catch (err) {
          throw new ProviderError(this.name, 'stream chunk is not JSON', { retryable: true, cause: err });
        }
        if (chunk.error !== undefined) {
          throw new ProviderError(this.name, `stream error: ${String(asRecord(chunk.error).message ?? 'unknown')}`, { retryable: true });
        }
        usageFrom(chunk.usage, usage);
        for (const rawChoice of Array.isArray(chunk.choices) ? chunk.choices : []) {
          const choice = asRecord(rawChoice);
          const delta = asRecord(choice.delta);
          if (typeof delta.content === 'string' && delta.content !== '') {
            text += delta.content;
            req.onText?.(delta.content);
          }
          for (const rawCall of Array.isArray(delta.tool_calls) ? delta.tool_calls : []) {
            const c = asRecord(rawCall);
            const index = asNumber(c.index);
            const fn = asRecord(c.function);
            let t = tools.get(index);
            if (t === undefined) {
              t = { id: '', name: '', args: '' };
              tools.set(index, t);
            }
            if (typeof c.id === 'string') t.id = c.id;
            if (typeof fn.name === 'string') t.name += fn.name;
            if (typeof fn.arguments === 'string') t.args += fn.arguments;
          }
          if (choice.finish_reason !== undefined && choice.finish_reason !== null) finish = choice.finish_reason;
        }
      }
    } catch (err) {
      if (req.signal.aborted) throw req.signal.reason;
      if (err instanceof ProviderError) throw err;
      throw new ProviderError(this.name, `stream broke: ${err instanceof Error ? err.message : String(err)}`, { retryable: true, cause: err });
    }
    if (!done && finish === undefined) throw new ProviderError(this.name, 'stream ended before a finish_reason', { retryable: true });
    const toolCalls: ToolCall[] = [...tools.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([, t]) => ({ id: t.id, name: t.name, input: parseArguments(this.name, t.name, t.args) }));
    return { text, tool_calls: toolCalls, usage, stop_reason: stopReason(finish) };
  }
}
