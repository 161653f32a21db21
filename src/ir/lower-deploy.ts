import type { BindingStmt, DeployStmt, PolicyStmt } from '../lang/ast.ts';
import { recordOf, setOwn, sortedRecord } from './json.ts';
import type { Binding, DeployTarget, DeployTargetConfig, Policy } from './types.ts';

export function lowerPolicy(p: PolicyStmt): Policy {
  return {
    name: p.name,
    rules: p.rules.length > 0 ? p.rules.map((r) => ({ action: r.action, resource: r.resource, subject: r.subject })) : null,
  };
}

export function lowerBinding(b: BindingStmt): Binding {
  const out: Binding = { name: b.name, adapter: b.adapter?.value ?? '' };
  if (b.default?.value === true) out.default = true;
  const config: Record<string, string> = {};
  for (const e of b.config) setOwn(config, e.key, e.value);
  if (Object.keys(config).length > 0) out.config = sortedRecord(config);
  return out;
}

/** Config keys in byte order, as the original printed its config map. */
export function lowerDeploy(d: DeployStmt): DeployTarget {
  const cfg: DeployTargetConfig = {};
  if (d.autoscale !== undefined) {
    const a: NonNullable<DeployTargetConfig['autoscale']> = {};
    if (d.autoscale.max !== undefined && d.autoscale.max.value > 0) a.max_replicas = d.autoscale.max.value;
    if (d.autoscale.metric !== undefined && d.autoscale.metric.value !== '') a.metric = d.autoscale.metric.value;
    if (d.autoscale.min !== undefined && d.autoscale.min.value > 0) a.min_replicas = d.autoscale.min.value;
    if (d.autoscale.target !== undefined && d.autoscale.target.value > 0) a.target = d.autoscale.target.value;
    cfg.autoscale = a;
  }
  const env = recordOf(d.env);
  if (Object.keys(env).length > 0) cfg.env = env;
  if (d.health !== undefined) {
    const h: NonNullable<DeployTargetConfig['health']> = {};
    if (d.health.interval !== undefined && d.health.interval.value !== '') h.interval = d.health.interval.value;
    if (d.health.path !== undefined && d.health.path.value !== '') h.path = d.health.path.value;
    if (d.health.timeout !== undefined && d.health.timeout.value !== '') h.timeout = d.health.timeout.value;
    cfg.health = h;
  }
  if (d.image !== undefined && d.image.value !== '') cfg.image = d.image.value;
  if (d.namespace !== undefined && d.namespace.value !== '') cfg.namespace = d.namespace.value;
  if (d.port !== undefined && d.port.value > 0) cfg.port = d.port.value;
  if (d.replicas !== undefined && d.replicas.value > 0) cfg.replicas = d.replicas.value;
  if (d.resources !== undefined) {
    const r: NonNullable<DeployTargetConfig['resources']> = {};
    if (d.resources.cpu !== undefined && d.resources.cpu.value !== '') r.cpu = d.resources.cpu.value;
    if (d.resources.memory !== undefined && d.resources.memory.value !== '') r.memory = d.resources.memory.value;
    cfg.resources = r;
  }
  const secrets = recordOf(d.secrets);
  if (Object.keys(secrets).length > 0) cfg.secrets = secrets;

  const out: DeployTarget = { name: d.name, target: d.target?.value ?? '' };
  if (d.default?.value === true) out.default = true;
  if (Object.keys(cfg).length > 0) out.config = cfg;
  return out;
}
