import type { Message, ToolCall } from '../../session/types.ts';

/** A tool offered to the model (from a skill): JSON-schema input, as both wire formats expect. */
export interface ToolDefinition {
  name: string;
  description: string;
  input_schema: Record<string, unknown>;
}

export interface ModelRequest {
  /** The model name as the provider knows it (the `provider/` prefix already removed). */
  model: string;
  system: string;
  /** Conversation so far, oldest first; never contains `system` messages. */
  messages: Message[];
  /**
   * Messages of the conversation older than `messages` that the memory window left out (or that
   * a summary in `system` stands for). Providers send nothing for them; echo counts them.
   */
  earlierMessages?: number;
  /**
   * The stored messages `messages` begins with (the session's memory window as loaded), when
   * there are any: a provider that counts over its messages (echo) counts these through
   * tokens.ts, which reads only what it has not counted before.
   */
  window?: readonly Message[];
  /** `summarize`: the call asks for a running summary of the conversation (memory strategy `summary`). */
  task?: 'summarize';
  tools: ToolDefinition[];
  temperature?: number;
  maxTokens: number;
  signal: AbortSignal;
  /**
   * `signal.aborted`, answered without making the signal (the runner makes it only when it is
   * read); absent where the caller made the signal itself.
   */
  readonly aborted?: boolean;
  /** When set, the provider streams and reports each text delta as it arrives. */
  onText?: (delta: string) => void;
}

export interface TokenUsage {
  input: number;
  output: number;
  cache_read: number;
}

export interface ModelResponse {
  text: string;
  tool_calls: ToolCall[];
  usage: TokenUsage;
  /** Provider's reason for stopping, normalised: end_turn | tool_use | max_tokens | other. */
  stop_reason: string;
}

/** One LLM backend. `complete` honours `signal` and throws ProviderError on any failure. */
export interface Provider {
  readonly name: string;
  complete(req: ModelRequest): Promise<ModelResponse>;
  /** Why calls cannot succeed as configured (e.g. a missing key), or undefined when ready. */
  problem(): string | undefined;
}

export function emptyUsage(): TokenUsage {
  return { input: 0, output: 0, cache_read: 0 };
}
