import { AgentspecError } from '../errors.ts';
import { attrString as str } from '../ir/attributes.ts';
import { parseSpecDuration } from '../ir/duration.ts';
import type { Attributes, IRDocument, JsonValue, Resource } from '../ir/types.ts';
import { logger } from '../log.ts';
import { BUSY_MODES, type BusyMode } from '../session/types.ts';
import { clientOf, SchemaBuilder, type Tool, type ToolSet } from '../tools/index.ts';
import { memoryWindowOf, type MemoryWindow } from './memory-window.ts';
import type { ProviderRegistry, ResolvedModel, ToolDefinition } from './providers/index.ts';
import { agentLogicOf, type AgentLogic } from './agent-logic.ts';

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

/** A prompt variable a request may not set: its value is always one the spec chose. */
export class InvalidVariableError extends AgentspecError {
  readonly variable: string;

  constructor(variable: string, reason: string) {
    super('E_INVALID_VARIABLE', `variables.${variable}: ${reason}`);
    this.variable = variable;
  }
}

export interface PromptVariable {
  name: string;
  required: boolean;
  default?: string;
  /** Declared with type `fixed` (or `const`): the default is always used, no request can change it. */
  fixed: boolean;
}

const FIXED_TYPES = new Set(['fixed', 'const']);

export interface AgentPrompt {
  name: string;
  content: string;
  variables: PromptVariable[];
}

export type OnError = 'retry' | 'fail' | 'fallback';

/** `delegate to agent "x" when "..."`: an agent this one may hand a task to (see delegation.ts). */
export interface DelegateRef {
  agent: string;
  /** The `when` text ("" when none): what the model reads about when to delegate. */
  condition: string;
}

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
  delegates: DelegateRef[];
  /** [3.0] `on input` and `validate` rules (agent-logic.ts); absent when the agent has neither. */
  logic?: AgentLogic;
  /** What part of a session's history a turn sends (the `memory` block, else the default window). */
  memory: MemoryWindow;
  /** What a message to this agent's busy session does, when the request does not say (spec `on_busy`). */
  onBusy: BusyMode | undefined;
}

export const DEFAULT_MAX_TURNS = 10;
/** Deadline of a request whose agent sets no `timeout`: a hung provider must not hold it forever. */
export const DEFAULT_TIMEOUT_MS = 300_000;
export const DEFAULT_STRATEGY = 'react';
/** Retries when `on_error "retry"` is set without `max_retries`. */
export const DEFAULT_RETRIES = 2;

// Environment overrides may add an attribute as a string ("20"); read numbers either way.
const num = (v: JsonValue | undefined): number | undefined => {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : undefined;
};
const int = (v: JsonValue | undefined): number | undefined => {
  const n = num(v);
  return n !== undefined && Number.isInteger(n) && n > 0 ? n : undefined;
};

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
    const fixed = FIXED_TYPES.has((str(v.type) ?? '').toLowerCase());
    vars.push({ name, required: v.required === true, fixed, ...(def === undefined ? {} : { default: def }) });
  }
  return { name: prompt.name, content: str(prompt.attributes.content) ?? '', variables: vars };
}

/**
 * The system prompt with `{{name}}` replaced for DECLARED variables only: a fixed one by its
 * default, the others by `variables` (request values over session metadata, merged by the caller),
 * else the default. A required variable with neither is an error; any other placeholder stays as
 * written, so a caller can never inject text where the spec did not ask for it.
 */
export function renderPrompt(prompt: AgentPrompt, variables: Readonly<Record<string, string>>): string {
  // Most prompts have no placeholder: no regex pass and no map of values for them (this runs at
  // least twice a turn).
  const values = prompt.content.includes('{{') ? new Map<string, string>() : undefined;
  for (const v of prompt.variables) {
    const given = v.fixed || !Object.hasOwn(variables, v.name) ? undefined : variables[v.name];
    const value = given ?? v.default;
    if (value !== undefined) values?.set(v.name, value);
    else if (v.required) throw new MissingVariableError(v.name);
  }
  if (values === undefined) return prompt.content;
  return prompt.content.replace(/\{\{\s*([^{}\s]+)\s*\}\}/g, (whole, name: string) => values.get(name) ?? whole);
}

/**
 * The variables of one turn: the request's over the session's metadata (so SDKs that cannot send
 * variables with a message set them once, at session creation). A request that tries to set a
 * fixed variable, or any value over `maxBytes`, is refused.
 */
export function turnVariables(
  prompt: AgentPrompt,
  request: Readonly<Record<string, string>>,
  metadata: Readonly<Record<string, string>>,
  maxBytes: number,
): Record<string, string> {
  for (const v of prompt.variables) {
    if (v.fixed && Object.hasOwn(request, v.name) && request[v.name] !== v.default) {
      throw new InvalidVariableError(v.name, 'is fixed by the spec and cannot be set by a request');
    }
  }
  for (const [name, value] of Object.entries(request)) {
    const bytes = Buffer.byteLength(value, 'utf8');
    if (bytes > maxBytes) throw new VariableTooLargeError(name, bytes, maxBytes);
  }
  for (const v of prompt.variables) {
    const value = Object.hasOwn(request, v.name) || !Object.hasOwn(metadata, v.name) ? undefined : metadata[v.name];
    if (value !== undefined && Buffer.byteLength(value, 'utf8') > maxBytes) throw new VariableTooLargeError(v.name, Buffer.byteLength(value, 'utf8'), maxBytes);
  }
  // All of them, not only this prompt's: a fallback agent's prompt may declare others.
  return { ...metadata, ...request };
}

/** A prompt variable's value is longer than the runtime accepts. Surfaces as HTTP 413. */
export class VariableTooLargeError extends AgentspecError {
  readonly variable: string;
  readonly bytes: number;
  readonly limit: number;

  constructor(variable: string, bytes: number, limit: number) {
    super('E_VARIABLE_TOO_LARGE', `variables.${variable}: ${bytes} bytes is over the limit of ${limit}`);
    this.variable = variable;
    this.bytes = bytes;
    this.limit = limit;
  }
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

function onBusyOf(a: Attributes, agent: string): BusyMode | undefined {
  const v = str(a.on_busy);
  if (v === undefined || v === '') return undefined;
  const mode = BUSY_MODES.find((m) => m === v);
  if (mode === undefined) throw new AgentConfigError(`on_busy "${v}" is not one of ${BUSY_MODES.join(', ')}`, agent);
  return mode;
}

interface AgentTools {
  tools: ToolDefinition[];
  executors: Map<string, Tool>;
}

function staticToolsOf(r: Resource, doc: IRDocument, skills: Map<string, Resource>, skillNames: string[], toolset: ToolSet | undefined): AgentTools {
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

/**
 * An agent that connects to an MCP client offers what the client's servers list now: the
 * skills stay fixed, the client's tools are re-read (and the set rebuilt only when it changed).
 * A tool added later under a skill's name is not offered; the skill keeps its name.
 */
function liveToolsOf(r: Resource, toolset: ToolSet, client: string, initial: AgentTools, skillNames: string[]): () => AgentTools {
  const skillTools = [...initial.executors.values()].filter((t) => skillNames.includes(t.name));
  let current = initial;
  let lastClientTools: Tool[] = [...initial.executors.values()].filter((t) => !skillNames.includes(t.name));
  const warned = new Set<string>();
  return () => {
    const now = toolset.clientToolsOf(client, r.name);
    if (now.length === lastClientTools.length && now.every((t, i) => t === lastClientTools[i])) return current;
    const executors = new Map<string, Tool>(skillTools.map((t) => [t.name, t]));
    for (const t of now) {
      if (executors.has(t.name)) {
        if (!warned.has(t.name)) {
          warned.add(t.name);
          logger('runtime').warn({ agent: r.name, client, tool: t.name }, 'an MCP tool added at run time has the name of another tool of the agent: not offered');
        }
        continue;
      }
      executors.set(t.name, t);
    }
    lastClientTools = now;
    current = { tools: [...executors.values()].map((t) => t.spec), executors };
    return current;
  };
}

function delegatesOf(a: Attributes): DelegateRef[] {
  const out: DelegateRef[] = [];
  for (const d of Array.isArray(a.delegates) ? a.delegates : []) {
    if (typeof d !== 'object' || d === null || Array.isArray(d)) continue;
    const agent = str(d.agent);
    if (agent !== undefined && agent !== '') out.push({ agent, condition: str(d.condition) ?? '' });
  }
  return out;
}

function defineAgent(r: Resource, doc: IRDocument, prompts: Map<string, Resource>, skills: Map<string, Resource>, providers: ProviderRegistry, toolset: ToolSet | undefined): AgentDefinition {
  const a = r.attributes;
  const model = str(a.model) ?? '';
  if (model === '') throw new AgentConfigError('has no model', r.name);
  const promptName = str(a.prompt);
  const prompt = promptName === undefined ? undefined : prompts.get(promptName);
  if (prompt === undefined) throw new AgentConfigError(`prompt "${promptName ?? ''}" not found in its package`, r.name);
  const skillNames = Array.isArray(a.skills) ? a.skills.filter((s): s is string => typeof s === 'string') : [];
  const initial = staticToolsOf(r, doc, skills, skillNames, toolset);
  const client = clientOf(r);
  const live = toolset === undefined || client === '' ? undefined : liveToolsOf(r, toolset, client, initial, skillNames);
  const timeoutText = str(a.timeout);
  let timeoutMs = DEFAULT_TIMEOUT_MS;
  if (timeoutText !== undefined && timeoutText !== '') {
    const parsed = parseSpecDuration(timeoutText);
    if (parsed === undefined || parsed <= 0) throw new AgentConfigError(`timeout "${timeoutText}" is not a duration like 30s`, r.name);
    timeoutMs = parsed;
  }
  const onError = onErrorOf(a, r.name);
  const memory = memoryWindowOf(a.memory);
  if ('problem' in memory) throw new AgentConfigError(memory.problem, r.name);
  const fallback = str(a.fallback) || undefined;
  const retriesValue = num(a.max_retries);
  const explicitRetries = retriesValue !== undefined && retriesValue >= 0 ? Math.floor(retriesValue) : undefined;
  const maxRetries = onError === 'fail' ? 0 : (explicitRetries ?? (onError === 'retry' ? DEFAULT_RETRIES : 0));
  const def: AgentDefinition = {
    name: r.name,
    fqn: r.fqn,
    model,
    resolved: providers.resolve(model, r.name),
    strategy: str(a.strategy) || DEFAULT_STRATEGY,
    skills: skillNames,
    tools: initial.tools,
    executors: initial.executors,
    prompt: promptOf(prompt),
    maxTurns: int(a.max_turns) ?? DEFAULT_MAX_TURNS,
    timeoutMs,
    tokenBudget: int(a.token_budget),
    temperature: num(a.temperature),
    onError,
    maxRetries,
    fallback,
    delegates: delegatesOf(a),
    memory,
    onBusy: onBusyOf(a, r.name),
  };
  const logic = agentLogicOf(r, doc, toolset);
  if (logic !== undefined) def.logic = logic;
  // Accessors, not values: every read sees the client's current list.
  if (live !== undefined) {
    Object.defineProperties(def, {
      tools: { get: () => live().tools, enumerable: true, configurable: true },
      executors: { get: () => live().executors, enumerable: true, configurable: true },
    });
  }
  return def;
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
    for (const d of a.delegates) if (!seen.has(d.agent)) throw new AgentConfigError(`delegate agent "${d.agent}" is not served`, a.name);
    for (const d of a.logic?.onInput?.agents ?? []) if (!seen.has(d)) throw new AgentConfigError(`on input delegates to agent "${d}", which is not served`, a.name);
  }
  return new AgentRegistry(agents);
}
