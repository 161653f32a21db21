/**
 * The lowered IR document (REFERENCE.md section 3). This shape is printed by `agentspec ir`,
 * snapshotted by `apply` for the runtime, and read by the plan and the runtime: keep it stable.
 */

/** Kinds in their sort order (resources are sorted by kind, then name, byte order). */
export const RESOURCE_KINDS = [
  'Agent',
  'Environment',
  'MCPClient',
  'MCPServer',
  'Pipeline',
  'Prompt',
  'Secret',
  'Skill',
  'Type',
] as const;
export type ResourceKind = (typeof RESOURCE_KINDS)[number];

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type Attributes = { [key: string]: JsonValue };

export interface Resource {
  kind: ResourceKind;
  name: string;
  /** `<package>/<Kind>/<name>` */
  fqn: string;
  attributes: Attributes;
  /** FQNs in source order, not deduplicated, built even when the target does not exist. */
  references?: string[];
  /** `sha256:<hex>` of the canonical JSON of `attributes`. */
  hash: string;
  /** Only for Prompt, Skill, Agent, MCPServer, MCPClient; never hashed. */
  metadata?: Record<string, string>;
}

export interface PackageInfo {
  name: string;
  version: string;
  description?: string;
}

export interface ImportRef {
  path: string;
  version?: string;
  alias?: string;
}

export interface PluginRef {
  name: string;
  version?: string;
}

export interface PolicyRule {
  action: 'deny' | 'allow' | 'require';
  resource: string;
  subject: string;
}

export interface Policy {
  name: string;
  rules: PolicyRule[] | null;
}

export interface Binding {
  name: string;
  adapter: string;
  default?: true;
  config?: Record<string, string>;
}

export interface DeployTargetConfig {
  port?: number;
  namespace?: string;
  replicas?: number;
  image?: string;
  resources?: { cpu?: string; memory?: string };
  health?: { path?: string; interval?: string; timeout?: string };
  autoscale?: { min_replicas?: number; max_replicas?: number; metric?: string; target?: number };
  env?: Record<string, string>;
  secrets?: Record<string, string>;
}

export interface DeployTarget {
  name: string;
  /** process | docker | docker-compose | kubernetes */
  target: string;
  default?: true;
  config?: DeployTargetConfig;
}

export interface IRDocument {
  ir_version: '1.0';
  lang_version: string;
  package: PackageInfo;
  imports?: ImportRef[];
  plugins?: PluginRef[];
  resources: Resource[] | null;
  policies?: Policy[];
  bindings?: Binding[];
  deploy_targets?: DeployTarget[];
}
