import { AnthropicProvider } from './anthropic.ts';
import { EchoProvider } from './echo.ts';
import { UnknownModelError } from './errors.ts';
import { CONTEXT_TOKENS, providerKindOf, type ProviderKind } from './models.ts';
import { OpenAiProvider } from './openai.ts';
import type { Provider } from './types.ts';

export type { ModelRequest, ModelResponse, Provider, TokenUsage, ToolDefinition } from './types.ts';
export { emptyUsage } from './types.ts';
export { MissingApiKeyError, ProviderError, UnknownModelError } from './errors.ts';
export { parseSse, formatSse, type SseEvent } from './sse.ts';
export { AnthropicProvider, toAnthropicMessages, ANTHROPIC_VERSION } from './anthropic.ts';
export { OpenAiProvider, toOpenAiMessages } from './openai.ts';
export { EchoProvider } from './echo.ts';
export { CONTEXT_TOKENS, providerKindOf, type ProviderKind } from './models.ts';

export interface ResolvedModel {
  provider: Provider;
  /** The model name sent to the provider (without a `provider/` prefix). */
  model: string;
  /** Tokens of context the request must stay under (CONTEXT_TOKENS of the provider). */
  contextTokens: number;
}

export const DEFAULT_ANTHROPIC_BASE_URL = 'https://api.anthropic.com';
export const DEFAULT_OPENAI_BASE_URL = 'https://api.openai.com/v1';
export const DEFAULT_OLLAMA_BASE_URL = 'http://127.0.0.1:11434/v1';

/**
 * Builds providers from the environment once (keys and base URLs are read at startup) and maps
 * model names to them. A missing key is not an error here: it is reported on the first call, with
 * the variable to set, so agents on other providers keep working.
 */
export class ProviderRegistry {
  private readonly env: NodeJS.ProcessEnv;
  private readonly cache = new Map<ProviderKind, Provider>();

  constructor(env: NodeJS.ProcessEnv = process.env) {
    this.env = env;
  }

  /** Throws UnknownModelError for a name no provider claims. */
  resolve(model: string, agent?: string): ResolvedModel {
    const found = providerKindOf(model);
    if (found === undefined) throw new UnknownModelError(model, agent);
    return { provider: this.provider(found.kind), model: found.model, contextTokens: CONTEXT_TOKENS[found.kind] };
  }

  private provider(kind: ProviderKind): Provider {
    let p = this.cache.get(kind);
    if (p === undefined) {
      p = this.build(kind);
      this.cache.set(kind, p);
    }
    return p;
  }

  private build(kind: ProviderKind): Provider {
    const env = this.env;
    switch (kind) {
      case 'echo':
        return new EchoProvider();
      case 'anthropic':
        return new AnthropicProvider({ baseUrl: env.ANTHROPIC_BASE_URL || DEFAULT_ANTHROPIC_BASE_URL, apiKey: env.ANTHROPIC_API_KEY });
      case 'openai':
        return new OpenAiProvider({
          name: 'openai',
          baseUrl: env.OPENAI_BASE_URL || DEFAULT_OPENAI_BASE_URL,
          apiKey: env.OPENAI_API_KEY,
          keyVariable: 'OPENAI_API_KEY',
        });
      case 'ollama':
        // A local Ollama needs no key; OLLAMA_API_KEY is sent when set (a proxy in front of it).
        return new OpenAiProvider({
          name: 'ollama',
          baseUrl: env.OLLAMA_BASE_URL || DEFAULT_OLLAMA_BASE_URL,
          apiKey: env.OLLAMA_API_KEY,
          keyVariable: undefined,
        });
    }
  }
}
