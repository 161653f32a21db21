import type { AgentStmt, OnInputStmt, PipelineStmt, SkillStmt, Statement } from '../lang/ast.ts';
import type { Diagnostic } from '../lang/diagnostics.ts';
import { canonicalStrategy } from '../ir/lower-agent.ts';
import { f1, q, Reporter, type ValidationInput } from './context.ts';

export const STRATEGIES = ['react', 'plan-and-execute', 'reflexion', 'router', 'map-reduce'];
export const ON_ERROR_VALUES = ['retry', 'fail', 'fallback'];
/** The busy modes of the runtime (src/session/types.ts BUSY_MODES), as the language accepts them. */
export const ON_BUSY_VALUES = ['enqueue', 'reject', 'interrupt'];
export const TOOL_TYPES = ['mcp', 'http', 'command', 'inline'];
export const DEPLOY_TARGETS = ['process', 'docker', 'docker-compose', 'kubernetes'];
export const CONFIG_TYPES = ['string', 'int', 'float', 'bool'];
export const RULE_SEVERITIES = ['error', 'warning'];
export const SCORING_METHODS = ['exact', 'contains', 'semantic', 'custom'];

const empty = (s: string | undefined): boolean => s === undefined || s === '';

function onInput(r: Reporter, stmt: Statement, body: OnInputStmt[]): void {
  for (const s of body) {
    switch (s.kind) {
      case 'use':
        if (s.skill === '') r.at(stmt, s.pos, 'use statement requires a skill name', "write 'use skill NAME'");
        break;
      case 'delegate':
        if (s.agent === '') r.at(stmt, s.pos, 'delegate statement requires an agent name', "write 'delegate to NAME'");
        break;
      case 'respond':
        if (s.expression === '') r.at(stmt, s.pos, 'respond statement requires an expression', "write 'respond \"text\"' or 'respond EXPR'");
        break;
      case 'if':
        if (s.condition === '') r.at(stmt, s.pos, 'if statement requires a condition', "write 'if CONDITION { ... }'");
        onInput(r, stmt, s.body);
        for (const e of s.elseIfs) {
          if (e.condition === '') r.at(stmt, e.pos, 'else if requires a condition', "write 'else if CONDITION { ... }'");
          onInput(r, stmt, e.body);
        }
        if (s.elseBody !== undefined) onInput(r, stmt, s.elseBody);
        break;
      case 'for_each':
        if (s.variable === '') r.at(stmt, s.pos, 'for each requires a loop variable', "write 'for each ITEM in COLLECTION { ... }'");
        if (s.collection === '') r.at(stmt, s.pos, 'for each requires a collection', "write 'for each ITEM in COLLECTION { ... }'");
        onInput(r, stmt, s.body);
        break;
    }
  }
}

function agent(r: Reporter, a: AgentStmt): void {
  if (a.name === '') r.at(a, a.pos, 'agent name is required');
  if (a.prompt === undefined) r.at(a, a.pos, `agent ${q(a.name)} requires a prompt reference`, `add 'uses prompt "name"'`);
  if (empty(a.model?.value)) r.at(a, a.pos, `agent ${q(a.name)} requires a model`, `add 'model "model-name"'`);
  const strategy = a.strategy?.value;
  if (!empty(strategy) && !STRATEGIES.includes(canonicalStrategy(strategy as string))) {
    r.at(a, a.pos, `agent ${q(a.name)} has invalid strategy ${q(strategy as string)}`, `valid strategies: ${STRATEGIES.join(', ')}`);
  }
  const onError = a.onError?.value;
  if (!empty(onError) && !ON_ERROR_VALUES.includes(onError as string)) {
    r.at(a, a.pos, `agent ${q(a.name)} has invalid on_error ${q(onError as string)}`, `valid values: ${ON_ERROR_VALUES.join(', ')}`);
  }
  const onBusy = a.onBusy?.value;
  if (!empty(onBusy) && !ON_BUSY_VALUES.includes(onBusy as string)) {
    r.at(a, a.onBusy!.pos, `agent ${q(a.name)} has invalid on_busy ${q(onBusy as string)}`, `valid values: ${ON_BUSY_VALUES.join(', ')}`);
  }
  if (onError === 'fallback' && empty(a.fallback?.value)) {
    r.at(a, a.pos, `agent ${q(a.name)} uses on_error "fallback" but no fallback agent specified`, `add 'fallback "agent-name"'`);
  }
  const t = a.temperature?.value;
  if (t !== undefined && (t < 0 || t > 2)) r.at(a, a.pos, `agent ${q(a.name)} has temperature ${f1(t)} out of range [0, 2]`);

  for (const p of a.config?.params ?? []) {
    if (p.name === '') r.at(a, p.pos, 'config parameter name is required');
    if (!CONFIG_TYPES.includes(p.type)) {
      r.at(a, p.pos, `config parameter ${q(p.name)} has invalid type ${q(p.type)}`, `valid types: ${CONFIG_TYPES.join(', ')}`);
    }
    if (p.secret && p.hasDefault) {
      r.at(a, p.pos, `config parameter ${q(p.name)} is secret and cannot have a default`, 'remove the default; a secret must come from the environment');
    }
  }
  for (const rule of a.validate?.rules ?? []) {
    if (rule.name === '') r.at(a, rule.namePos, 'validation rule name is required');
    if (!RULE_SEVERITIES.includes(rule.severity)) {
      r.at(a, rule.namePos, `validation rule ${q(rule.name)} has invalid severity ${q(rule.severity)}`, `valid severities: ${RULE_SEVERITIES.join(', ')}`);
    }
    if (rule.maxRetries !== undefined && rule.maxRetries.value < 0) {
      r.at(a, rule.namePos, `validation rule ${q(rule.name)} has negative max_retries ${rule.maxRetries.value}`);
    }
    if (empty(rule.when?.value)) {
      r.at(a, rule.namePos, `validation rule ${q(rule.name)} requires a 'when' expression`, "add 'when EXPRESSION'");
    }
  }
  for (const c of a.eval?.cases ?? []) {
    if (c.name === '') r.at(a, c.namePos, 'eval case name is required');
    if (empty(c.input?.value)) r.at(a, c.namePos, `eval case ${q(c.name)} requires an input`, `add 'input "..."'`);
    if (empty(c.expect?.value)) r.at(a, c.namePos, `eval case ${q(c.name)} requires an expected output`, `add 'expect "..."'`);
    const scoring = c.scoring?.value;
    if (!empty(scoring) && !SCORING_METHODS.includes(scoring as string)) {
      r.at(a, c.namePos, `eval case ${q(c.name)} has invalid scoring ${q(scoring as string)}`, `valid scoring: ${SCORING_METHODS.join(', ')}`);
    }
    const th = c.threshold?.value;
    if (th !== undefined && (th < 0 || th > 1)) r.at(a, c.namePos, `eval case ${q(c.name)} has threshold ${f1(th)} out of range [0, 1]`);
  }
  if (a.onInput !== undefined) onInput(r, a, a.onInput.body);
}

function skill(r: Reporter, s: SkillStmt): void {
  if (s.name === '') r.at(s, s.pos, 'skill name is required');
  if (empty(s.description?.value)) r.at(s, s.pos, `skill ${q(s.name)} requires a description`, `add 'description "..."'`);
  if ((s.input?.fields.length ?? 0) === 0) r.at(s, s.pos, `skill ${q(s.name)} requires an input schema`, "add 'input { name type }'");
  if ((s.output?.fields.length ?? 0) === 0) r.at(s, s.pos, `skill ${q(s.name)} requires an output schema`, "add 'output { name type }'");
  if (s.tool === undefined && s.execution === undefined) {
    r.at(s, s.pos, `skill ${q(s.name)} requires an execution or tool block`, `add 'tool mcp "server/tool"' or 'execution command "..."'`);
  }
  if (s.tool !== undefined && s.execution !== undefined) {
    r.at(s, s.pos, `skill ${q(s.name)} has both execution and tool blocks`, "use only one: 'tool' (2.0) or 'execution' (1.0)");
  }
  if (s.tool !== undefined && !TOOL_TYPES.includes(s.tool.type)) {
    r.at(s, s.tool.typePos, `skill ${q(s.name)} has invalid tool type ${q(s.tool.typeWord)}`, `valid types: ${TOOL_TYPES.join(', ')}`);
  }
}

function pipeline(r: Reporter, p: PipelineStmt): void {
  if (p.name === '') r.at(p, p.pos, 'pipeline name is required');
  if (p.steps.length === 0) r.at(p, p.pos, `pipeline ${q(p.name)} requires at least one step`, `add 'step "name" { agent "..." }'`);
  const names = new Set<string>();
  for (const step of p.steps) {
    if (step.name === '') {
      r.at(p, step.namePos, 'step name is required');
      continue;
    }
    if (names.has(step.name)) r.at(p, step.namePos, `duplicate step name ${q(step.name)} in pipeline ${q(p.name)}`);
    names.add(step.name);
    if (empty(step.agent?.value)) r.at(p, step.namePos, `step ${q(step.name)} requires an agent`, `add 'agent "agent-name"'`);
  }
  for (const step of p.steps) {
    for (const dep of step.dependsOn?.value ?? []) {
      if (!names.has(dep)) r.at(p, step.namePos, `step ${q(step.name)} depends_on unknown step ${q(dep)}`);
      if (dep === step.name) r.at(p, step.namePos, `step ${q(step.name)} cannot depend on itself`);
    }
  }
}

/** REFERENCE 4.3: required attributes and allowed values, per statement in file order. */
export function validateStructural(input: ValidationInput): Diagnostic[] {
  const r = new Reporter(input);
  const header = input.file.header;
  if (header === undefined) {
    r.at(undefined, { line: 1, column: 1 }, 'missing package declaration', `add 'package "name" version "x.y.z" lang "3.0"' at the start`);
    return r.diagnostics;
  }
  if (header.name === '') r.at(undefined, header.pos, 'package name is required');
  if (empty(header.version?.value)) r.at(undefined, header.pos, 'package version is required', 'add version "x.y.z"');
  if (empty(header.lang?.value)) r.at(undefined, header.pos, 'lang version is required', 'add lang "3.0"');

  for (const s of input.statements) {
    switch (s.kind) {
      case 'agent':
        agent(r, s);
        break;
      case 'prompt':
        if (s.name === '') r.at(s, s.pos, 'prompt name is required');
        if (empty(s.content?.value)) r.at(s, s.pos, `prompt ${q(s.name)} requires content`, `add 'content "..."'`);
        break;
      case 'skill':
        skill(r, s);
        break;
      case 'server': {
        if (s.name === '') r.at(s, s.pos, 'server name is required');
        const transport = s.transport?.value ?? '';
        if (transport === '') r.at(s, s.pos, `server ${q(s.name)} requires a transport`, `add 'transport "stdio"' or 'transport "sse"'`);
        if (transport === 'stdio' && empty(s.command?.value)) {
          r.at(s, s.pos, `server ${q(s.name)} with stdio transport requires a command`, `add 'command "..."'`);
        }
        if ((transport === 'sse' || transport === 'streamable-http') && empty(s.url?.value)) {
          r.at(s, s.pos, `server ${q(s.name)} with ${transport} transport requires a url`, `add 'url "..."'`);
        }
        break;
      }
      case 'client':
        if (s.name === '') r.at(s, s.pos, 'client name is required');
        if (s.connects.length === 0) {
          r.at(s, s.pos, `client ${q(s.name)} requires at least one server connection`, `add 'connects to server "name"'`);
        }
        break;
      case 'secret':
        if (s.name === '') r.at(s, s.pos, 'secret name is required');
        if (s.source === undefined) {
          r.at(s, s.pos, `secret ${q(s.name)} requires a source (env or store)`, "add 'env(KEY)' or 'store(path)'");
        }
        if (empty(s.source?.key)) r.at(s, s.pos, `secret ${q(s.name)} requires a key`);
        break;
      case 'binding':
        if (s.name === '') r.at(s, s.pos, 'binding name is required');
        if (empty(s.adapter?.value)) r.at(s, s.pos, `binding ${q(s.name)} requires an adapter`, `add 'adapter "local-mcp"'`);
        break;
      case 'deploy': {
        if (s.name === '') r.at(s, s.pos, 'deploy target name is required');
        const target = s.target?.value ?? '';
        if (target === '') {
          r.at(s, s.pos, `deploy ${q(s.name)} requires a target type`, `add 'target "process"', 'target "docker"', or 'target "kubernetes"'`);
        } else if (!DEPLOY_TARGETS.includes(target)) {
          r.at(s, s.pos, `deploy ${q(s.name)} has invalid target type ${q(target)}`, `valid targets: ${DEPLOY_TARGETS.join(', ')}`);
        }
        break;
      }
      case 'type': {
        if (s.name === '') r.at(s, s.pos, 'type name is required');
        const b = s.body;
        const hasShape =
          (b?.form === 'enum' && b.values.length > 0) ||
          (b?.form === 'list' && b.of !== '') ||
          (b?.form === 'fields' && b.fields.length > 0);
        if (!hasShape) {
          r.at(s, s.pos, `type ${q(s.name)} must have fields, enum values, or list type`, 'add fields in a block, enum [...], or list <type>');
        }
        if (b?.form === 'fields') {
          for (const f of b.fields) {
            if (f.name === '') r.at(s, f.pos, 'type field name is required');
            if (f.type === '') r.at(s, f.pos, `type field ${q(f.name)} requires a type`);
          }
        }
        break;
      }
      case 'pipeline':
        pipeline(r, s);
        break;
      case 'import':
        if (s.path === '') r.at(s, s.pos, 'import path is required', 'add import "./file.ias"');
        break;
      default:
        // environment, policy and plugin have no required attributes.
        break;
    }
  }
  return r.diagnostics;
}
