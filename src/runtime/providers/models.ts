/**
 * Which provider serves a model name, and how much context it takes. No dependencies, so that
 * `validate` and `plan` can check model names without building any provider.
 */

export type ProviderKind = 'anthropic' | 'openai' | 'ollama' | 'echo';

export const PROVIDER_PREFIXES: readonly ProviderKind[] = ['anthropic', 'openai', 'ollama', 'echo'];

/** Which provider serves a model name: an explicit `provider/` prefix, else the name's family. */
export function providerKindOf(model: string): { kind: ProviderKind; model: string } | undefined {
  const slash = model.indexOf('/');
  if (slash > 0) {
    const prefix = model.slice(0, slash).toLowerCase();
    const rest = model.slice(slash + 1);
    if (rest !== '' && (PROVIDER_PREFIXES as readonly string[]).includes(prefix)) return { kind: prefix as ProviderKind, model: rest };
    return undefined;
  }
  const m = model.toLowerCase();
  if (m.startsWith('claude')) return { kind: 'anthropic', model };
  if (m.startsWith('gpt') || /^o[134](\b|-|$)/.test(m)) return { kind: 'openai', model };
  if (m.startsWith('echo')) return { kind: 'echo', model };
  return undefined;
}

/** Why no provider serves `model` (for diagnostics), or undefined when one does. */
export function unknownModelReason(model: string): string | undefined {
  if (providerKindOf(model) !== undefined) return undefined;
  const slash = model.indexOf('/');
  if (slash > 0 && model.slice(slash + 1) !== '') return `unknown provider "${model.slice(0, slash)}" in model "${model}"`;
  return `unknown model "${model}": no provider serves it`;
}

export const MODEL_NAMING_HINT = `name a model of a known family (claude*, gpt*, o1*, o3*, o4*, echo*) or prefix it with its provider (${PROVIDER_PREFIXES.map((p) => `${p}/`).join(', ')})`;

/**
 * Context window, in tokens, assumed for every model of a provider: the smallest current model of
 * the family, so that a request kept under it fits whichever model is named. Ollama's depends on
 * how the model was pulled and run; 8192 is what common local models take.
 */
export const CONTEXT_TOKENS: Readonly<Record<ProviderKind, number>> = {
  anthropic: 200_000,
  openai: 128_000,
  ollama: 8_192,
  echo: 32_768,
};
