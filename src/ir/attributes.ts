import type { JsonValue } from './types.ts';

/*
 * Readers of IR attribute values for the layers that run what the IR describes (runtime, tools).
 * An attribute of another type than expected reads as absent; the validator has already spoken.
 */

export const attrString = (v: JsonValue | undefined): string | undefined => (typeof v === 'string' ? v : undefined);

export const attrStringList = (v: JsonValue | undefined): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/** The string-valued entries of an object attribute (`env`, `headers`, `secrets`). */
export function attrStringMap(v: JsonValue | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
}

/** The strategies of an agent's `memory` block (docs/runtime.md "Memory windows"). */
export const MEMORY_STRATEGIES = ['sliding_window', 'summary'] as const;
