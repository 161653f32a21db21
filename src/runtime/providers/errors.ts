import { AgentspecError } from '../../errors.ts';

/** A model call failed: network error, non-2xx answer, malformed or truncated reply. */
export class ProviderError extends AgentspecError {
  readonly provider: string;
  /** HTTP status from the provider, when it answered at all. */
  readonly status: number | undefined;
  /** Whether trying again may help (network errors, 429, 5xx). */
  readonly retryable: boolean;

  constructor(provider: string, message: string, opts: { status?: number; retryable: boolean; cause?: unknown }) {
    super('E_PROVIDER', `${provider}: ${message}`, { cause: opts.cause });
    this.provider = provider;
    this.status = opts.status;
    this.retryable = opts.retryable;
  }
}

/** The provider needs an API key and its environment variable is not set. */
export class MissingApiKeyError extends AgentspecError {
  readonly variable: string;

  constructor(provider: string, variable: string) {
    super('E_MISSING_API_KEY', `${provider}: no API key: set the ${variable} environment variable and restart agentspec run`);
    this.variable = variable;
  }
}

/** A model name no provider claims. Raised at startup so a typo never reaches a request. */
export class UnknownModelError extends AgentspecError {
  readonly model: string;

  constructor(model: string, agent?: string) {
    super(
      'E_UNKNOWN_MODEL',
      `${agent === undefined ? '' : `agent "${agent}": `}unknown model "${model}": use a name starting with claude, gpt, o1, o3, o4 or echo, ` +
        'or the explicit form anthropic/<model>, openai/<model>, ollama/<model>, echo/<model>',
    );
    this.model = model;
  }
}

/** Whether an HTTP status from a provider is worth retrying. */
export function retryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}
