import type { TargetChoice } from '../adapters/index.ts';
import { AgentspecError } from '../errors.ts';
import { selectTarget, type IRDocument } from '../ir/index.ts';

/** The port the original used when a target does not name one. */
export const DEFAULT_PORT = 8080;
export const DEFAULT_HEALTH_PATH = '/healthz';

function portFrom(value: string | number | undefined, where: string): number {
  if (value === undefined || value === '') return DEFAULT_PORT;
  const port = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new AgentspecError('E_TARGET_PORT', `${where}: port must be an integer between 1 and 65535 (got ${String(value)})`);
  }
  return port;
}

function healthPathFrom(value: string | undefined): string {
  if (value === undefined || value === '') return DEFAULT_HEALTH_PATH;
  return value.startsWith('/') ? value : `/${value}`;
}

/** REFERENCE 3.7 selection, plus what the adapter needs from the chosen target (port, health path). */
export function chooseTarget(doc: IRDocument, targetName?: string): TargetChoice {
  const sel = selectTarget(doc, targetName);
  if (sel.source === 'binding') {
    const config = sel.binding.config ?? {};
    return {
      name: sel.name,
      adapter: sel.adapter,
      port: portFrom(config.port, `binding "${sel.name}"`),
      healthPath: healthPathFrom(config.health_path ?? config['health.path']),
    };
  }
  const config = sel.deployTarget.config ?? {};
  return {
    name: sel.name,
    adapter: sel.adapter,
    port: portFrom(config.port, `deploy target "${sel.name}"`),
    healthPath: healthPathFrom(config.health?.path),
  };
}

/** How a plan names where a package goes. */
export function describeTarget(t: TargetChoice): string {
  return `target "${t.name}" (${t.adapter}, port ${t.port})`;
}
