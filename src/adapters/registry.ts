import { DEPLOYABLE_ADAPTERS, REGISTERED_ADAPTERS } from '../ir/target.ts';
import { UnknownAdapterError } from './errors.ts';
import { ProcessAdapter } from './process-adapter.ts';
import type { Adapter } from './types.ts';
import { UnsupportedAdapter } from './unsupported.ts';

/** Adapter names of REFERENCE 3.7. `local-mcp` is what a `process` deploy target resolves to. */
export const ADAPTER_NAMES = REGISTERED_ADAPTERS;

const PROCESS_NAMES = new Set<string>(DEPLOYABLE_ADAPTERS);

/** The adapter for a resolved adapter name. */
export function adapterFor(name: string): Adapter {
  if (PROCESS_NAMES.has(name)) return new ProcessAdapter();
  if ((ADAPTER_NAMES as readonly string[]).includes(name)) return new UnsupportedAdapter(name);
  throw new UnknownAdapterError(name, ADAPTER_NAMES);
}

/** The adapter that deployed a state entry (entries record the adapter's own name). */
export function adapterForEntry(adapter: string): Adapter {
  return adapterFor(adapter === '' ? 'process' : adapter);
}
