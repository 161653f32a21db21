import { NoDeployTargetError } from './errors.ts';
import type { Binding, DeployTarget, IRDocument } from './types.ts';

/** Adapters apply can drive (REFERENCE 3.7). */
export const REGISTERED_ADAPTERS = ['local-mcp', 'process', 'docker', 'docker-compose', 'kubernetes'] as const;

/** The adapters of REGISTERED_ADAPTERS that can deploy today (the process adapter); the others refuse. */
export const DEPLOYABLE_ADAPTERS = ['local-mcp', 'process'] as const;

export type SelectedTarget =
  | { source: 'binding'; name: string; adapter: string; binding: Binding }
  | { source: 'deploy'; name: string; adapter: string; deployTarget: DeployTarget };

/** The shared rule: by name when asked; else the first default; else the only one; else none. */
function pick<T extends { name: string; default?: true }>(items: T[], name: string | undefined): T | undefined {
  if (name !== undefined) return items.find((i) => i.name === name);
  const byDefault = items.find((i) => i.default === true);
  if (byDefault !== undefined) return byDefault;
  return items.length === 1 ? items[0] : undefined;
}

/** The binding `plan` labels its output with (bindings only, REFERENCE 3.7). */
export function selectBinding(doc: IRDocument, targetName?: string): Binding | undefined {
  return pick(doc.bindings ?? [], targetName);
}

/** Adapter name for a deploy target's `target` word. */
export function adapterForDeployTarget(target: string): string {
  // The original ran `process` targets through its local MCP adapter; keep the same adapter name.
  if (target === 'process') return 'local-mcp';
  return target;
}

/**
 * Choose where apply/status/destroy/logs deploy: bindings first, then deploy targets, with the
 * same rule for both. Throws NoDeployTargetError when neither yields one.
 */
export function selectTarget(doc: IRDocument, targetName?: string): SelectedTarget {
  const binding = selectBinding(doc, targetName);
  if (binding !== undefined) return { source: 'binding', name: binding.name, adapter: binding.adapter, binding };
  const deployTarget = pick(doc.deploy_targets ?? [], targetName);
  if (deployTarget !== undefined) {
    return { source: 'deploy', name: deployTarget.name, adapter: adapterForDeployTarget(deployTarget.target), deployTarget };
  }
  const available = [...(doc.bindings ?? []).map((b) => b.name), ...(doc.deploy_targets ?? []).map((d) => d.name)];
  throw new NoDeployTargetError(targetName, available);
}
