import { AgentspecError } from '../errors.ts';
import type { Attributes, IRDocument, JsonValue, Resource } from '../ir/types.ts';
import { SchemaBuilder, type Tool, type ToolSet } from '../tools/index.ts';
import type { ProviderRegistry, ResolvedModel, ToolDefinition } from './providers/index.ts';

/** The served package is inconsistent (a missing prompt, two agents with one name, ...). */
export class AgentConfigError extends AgentspecError {
  readonly agent: string | undefined;

  constructor(message: string, agent?: string) {
    super('E_AGENT_CONFIG', agent === undefined ? message : `agent "${agent}": ${message}`);
    this.agent = agent;
  }
}

/** A request did not give a prompt variable that has no default. Surfaces as HTTP 400. */
export class MissingVariableError extends AgentspecError {
  readonly variable: string;

  constructor(variable: string) {
    super('E_MISSING_VARIABLE', `variables.${variable}: required by the prompt and has no default`);
    this.variable = variable;
  }
}

export interface PromptVariable {
  name: string;
  required: boolean;
  default?: string;
}

export interface AgentPrompt {
  name: string;
  content: string;
  variables: PromptVariable[];
}

export type OnError = 'retry' | 'fail' | 'fallback';

export interface AgentDefinition {
  name: string;
  fqn: string;
  /** The model as written in the spec (reported by GET /v1/agents). */
  model: string;
  resolved: ResolvedModel;
  strategy: string;
  skills: string[];
  /** What the model is offered. */
  tools: ToolDefinition[];
  /** What runs a tool call, by tool name (empty when the registry was built without a tool set). */
  executors: ReadonlyMap<string, Tool>;
  prompt: AgentPrompt;
  maxTurns: number;
  timeoutMs: number;
  tokenBudget: number | undefined;
  temperature: number | undefined;
  onError: OnError | undefined;
  maxRetries: number;
  fallback: string | undefined;
}

export const DEFAULT_MAX_TURNS = 10;
/** Deadline of a request whose agent sets no `timeout`: a hung provider must not hold it forever. */
export const DEFAULT_TIMEOUT_MS = 300_000;
export const DEFAULT_STRATEGY = 'react';
/** Retries when `on_error "retry"` is set without `max_retries`. */
export const DEFAULT_RETRIES = 2;

const str = (v: JsonValue | undefined): string | undefined => (typeof v === 'string' ? v : undefined);
// Environment overrides may add an attribute as a string ("20"); read numbers either way.
const num = (v: JsonValue | undefined): number | undefined => {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : undefined;
};
const int = (v: JsonValue | undefined): number | undefined => {
  const n = num(v);
  return n !== undefined && Number.isInteger(n) && n > 0 ? n : undefined;
};

/** `30s`, `500ms`, `2m`, `1h` or bare seconds, as written in `timeout` attributes. */
export function parseSpecDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (m === null) return undefined;
  const unit = m[2] ?? 's';
  const factor = unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 3_600_000;
  return Math.round(Number(m[1]) * factor);
}

/** The tool a skill is offered as when no tool set is given: description and input schema. */
export function skillTool(skill: Resource): ToolDefinition {
  return { name: skill.name, description: str(skill.attributes.description) ?? '', input_schema: new SchemaBuilder([]).forFields(skill.attributes.input) };
}

function promptOf(prompt: Resource): AgentPrompt {
  const vars: PromptVariable[] = [];
  const raw = prompt.attributes.variables;
  for (const v of Array.isArray(raw) ? raw : []) {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) continue;
    const name = str(v.name);
    if (name === undefined) continue;
    const def = str(v.default);
    vars.push({ name, required: v.required === true, ...(def === undefined ? {} : { default: def }) });
  }
  return { name: prompt.name, content: str(prompt.attributes.content) ?? '', variables: vars };
}

/**
 * The system prompt with `{{name}}` replaced: request variables first, then declared defaults.
 * A declared required variable with neither is an error; an unknown placeholder stays as written.
 */
export function renderPrompt(prompt: AgentPrompt, variables: Record<string, string>): string {
  const values = new Map<string, string>();
  for (const v of prompt.variables) {
    const given = variables[v.name];
    if (given !== undefined) values.set(v.name, given);
    else if (v.default !== undefined) values.set(v.name, v.default);
    else if (v.required) throw new MissingVariableError(v.name);
  }
  for (const [k, v] of Object.entries(variables)) if (!values.has(k)) values.set(k, v);
  return prompt.content.replace(/\{\{\s*([^{}\s]+)\s*\}\}/g, (whole, name: string) => values.get(name) ?? whole);
}

function byName(resources: Resource[], kind: Resource['kind']): Map<string, Resource> {
  return new Map(resources.filter((r) => r.kind === kind).map((r) => [r.name, r]));
}

function onErrorOf(a: Attributes, agent: string): OnError | undefined {
  const v = str(a.on_error);
  if (v === undefined || v === '') return undefined;
  if (v === 'retry' || v === 'fail' || v === 'fallback') return v;
  throw new AgentConfigError(`on_error "${v}" is not one of retry, fail, fallback`, agent);
}

function toolsOf(r: Resource, doc: IRDocument, skills: Map<string, Resource>, skillNames: string[], toolset: ToolSet | undefined): { tools: ToolDefinition[]; executors: Map<string, Tool> } {
  const executors = new Map<string, Tool>();
  if (toolset === undefined) {
    const tools = skillNames.map((s) => {
      const skill = skills.get(s);
      if (skill === undefined) throw new AgentConfigError(`skill "${s}" not found in its package`, r.name);
      return skillTool(skill);
    });
    return { tools, executors };
  }
  for (const s of skillNames) if (!skills.has(s)) throw new AgentConfigError(`skill "${s}" not found in its package`, r.name);
  for (const t of toolset.toolsFor(doc, r)) {
    if (executors.has(t.name)) throw new AgentConfigError(`two tools are named "${t.name}" (a skill and an MCP tool, or two MCP servers); rename the skill`, r.name);
    executors.set(t.name, t);
  }
  return { tools: [...executors.values()].map((t) => t.spec), executors };
}

function defineAgent(r: Resource, doc: IRDocument, prompts: Map<string, Resource>, skills: Map<string, Resource>, providers: ProviderRegistry, toolset: ToolSet | undefined): AgentDefinition {
  const a = r.attributes;
  const model = str(a.model) ?? '';
  if (model === '') throw new AgentConfigError('has no model', r.name);
  const promptName = str(a.prompt);
  const prompt = promptName === undefined ? undefined : prompts.get(promptName);
  if (prompt === undefined) throw new AgentConfigError(`prompt "${promptName ?? ''}" not found in its package`, r.name);
  const skillNames = Array.isArray(a.skills) ? a.skills.filter((s): s is string => typeof s === 'string') : [];
  const { tools, executors } = toolsOf(r, doc, skills, skillNames, toolset);
  const timeoutText = str(a.timeout);
  let timeoutMs = DEFAULT_TIMEOUT_MS;
  if (timeoutText !== undefined && timeoutText !== '') {
    const parsed = parseSpecDuration(timeoutText);
    if (parsed === undefined || parsed <= 0) throw new AgentConfigError(`timeout "${timeoutText}" is not a duration like 30s`, r.name);
    timeoutMs = parsed;
  }
  const onError = onErrorOf(a, r.name);
  const fallback = str(a.fallback) || undefined;
  const retriesValue = num(a.max_retries);
  const explicitRetries = retriesValue !== undefined && retriesValue >= 0 ? Math.floor(retriesValue) : undefined;
  const maxRetries = onError === 'fail' ? 0 : (explicitRetries ?? (onError === 'retry' ? DEFAULT_RETRIES : 0));
  return {
    name: r.name,
    fqn: r.fqn,
    model,
    resolved: providers.resolve(model, r.name),
    strategy: str(a.strategy) || DEFAULT_STRATEGY,
    skills: skillNames,
    tools,
    executors,
    prompt: promptOf(prompt),
    maxTurns: int(a.max_turns) ?? DEFAULT_MAX_TURNS,
    timeoutMs,
    tokenBudget: int(a.token_budget),
    temperature: num(a.temperature),
    onError,
    maxRetries,
    fallback,
  };
}

/** The agents one `agentspec run` serves, by name. */
export class AgentRegistry {
  private readonly agents: Map<string, AgentDefinition>;

  constructor(agents: AgentDefinition[]) {
    this.agents = new Map(agents.map((a) => [a.name, a]));
  }

  get(name: string): AgentDefinition | undefined {
    return this.agents.get(name);
  }

  list(): AgentDefinition[] {
    return [...this.agents.values()].sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
  }

  get size(): number {
    return this.agents.size;
  }
}

/**
 * Build the registry from IR documents. Prompts and skills are looked up in the agent's own
 * document. Every problem is found here, at startup: an unknown model prefix, a missing prompt,
 * a fallback that does not exist, two agents with one name. With a tool set, every agent's
 * skills (and MCP client tools) execute; without one they are offered but answered "not available".
 */
export function buildAgentRegistry(docs: IRDocument[], providers: ProviderRegistry, toolset?: ToolSet): AgentRegistry {
  const agents: AgentDefinition[] = [];
  const seen = new Map<string, string>();
  for (const doc of docs) {
    const resources = doc.resources ?? [];
    const prompts = byName(resources, 'Prompt');
    const skills = byName(resources, 'Skill');
    for (const r of resources) {
      if (r.kind !== 'Agent') continue;
      const other = seen.get(r.name);
      if (other !== undefined) throw new AgentConfigError(`defined twice (${other} and ${r.fqn}); agent names must be unique across the served files`, r.name);
      seen.set(r.name, r.fqn);
      agents.push(defineAgent(r, doc, prompts, skills, providers, toolset));
    }
  }
  for (const a of agents) {
    if (a.fallback !== undefined && !seen.has(a.fallback)) throw new AgentConfigError(`fallback agent "${a.fallback}" is not served`, a.name);
    if (a.fallback === a.name) throw new AgentConfigError('cannot fall back to itself', a.name);
  }
  return new AgentRegistry(agents);
}
