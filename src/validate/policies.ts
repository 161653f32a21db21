import { AgentspecError } from '../errors.ts';
import type { IRDocument, JsonValue } from '../ir/types.ts';
import type { AgentStmt, OnInputStmt, Pos, Statement } from '../lang/ast.ts';
import type { Diagnostic } from '../lang/diagnostics.ts';
import { q, Reporter, type ValidationInput } from './context.ts';

/*
 * `policy` rules (docs/policies.md). The same check runs on the AST (validate, plan, apply: a
 * diagnostic at the line to change) and on IR documents (the runtime at start-up, and a spec
 * after an environment's overrides). Rules are package-scoped: an `allow` of any policy lifts a
 * `deny` of any other for the names it matches.
 */

const DENIABLE = ['model', 'skill', 'tool'] as const;
const REQUIRABLE = ['secret', 'skill', 'prompt', 'agent', 'server', 'client'] as const;
const TOOL_TYPES = ['command', 'http', 'inline', 'mcp'];

type Deniable = (typeof DENIABLE)[number];
type Requirable = (typeof REQUIRABLE)[number];

export const POLICY_FORMS =
  'deny model|skill|tool NAME..., allow model|skill|tool NAME..., require secret|skill|prompt|agent|server|client NAME... (a quoted NAME may use * as a wildcard)';

/** One rule as written, with where it was written (`At`: an AST position, or nothing for IR). */
export interface RuleFact<At> {
  policy: string;
  action: string;
  resource: string;
  subject: string;
  at: At;
  /** `FILE:LINE:COL` of the rule, for messages about what it forbids elsewhere. */
  where?: string;
}

/** What the rules judge: each agent's model and skills, each skill's tool type, the declared names. */
export interface PolicyFacts<At> {
  agents: Array<{ name: string; model: string; modelAt: At; skills: Array<{ name: string; at: At }> }>;
  skills: Array<{ name: string; tool: string | undefined; toolAt: At }>;
  declared: Record<Requirable, Set<string>>;
}

export interface PolicyFinding<At> {
  at: At;
  message: string;
  hint?: string;
}

function matcher(name: string): (value: string) => boolean {
  if (!name.includes('*')) return (v) => v === name;
  const re = new RegExp(`^${name.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return (v) => re.test(v);
}

function ruleText(r: RuleFact<unknown>): string {
  return [r.action, r.resource, r.subject].filter((w) => w !== '').join(' ');
}

function ruleRef<At>(r: RuleFact<At>): string {
  return `policy ${q(r.policy)} (${ruleText(r)}${r.where === undefined ? '' : `, ${r.where}`})`;
}

/** Every violation of `rules` by `facts`, and every rule written in a form this version does not know. */
export function checkPolicies<At>(rules: readonly RuleFact<At>[], facts: PolicyFacts<At>): PolicyFinding<At>[] {
  const out: PolicyFinding<At>[] = [];
  const denies: Array<{ rule: RuleFact<At>; kind: Deniable; match: (v: string) => boolean }> = [];
  const allows: Array<{ kind: Deniable; match: (v: string) => boolean }> = [];
  const requires: Array<{ rule: RuleFact<At>; kind: Requirable; name: string }> = [];
  for (const rule of rules) {
    const names = rule.subject.split(' ').filter((n) => n !== '');
    const known: readonly string[] = rule.action === 'require' ? REQUIRABLE : DENIABLE;
    if (!known.includes(rule.resource)) {
      const what = rule.resource === '' ? 'says what it applies to' : `knows ${q(rule.resource)}`;
      out.push({ at: rule.at, message: `policy ${q(rule.policy)}: unknown rule "${ruleText(rule)}": no form of ${q(rule.action)} ${what}`, hint: `rule forms: ${POLICY_FORMS}` });
      continue;
    }
    if (names.length === 0) {
      out.push({ at: rule.at, message: `policy ${q(rule.policy)}: rule "${ruleText(rule)}" names no ${rule.resource}`, hint: `write e.g. ${rule.action} ${rule.resource} NAME` });
      continue;
    }
    if (rule.resource === 'tool') {
      const bad = names.find((n) => !n.includes('*') && !TOOL_TYPES.includes(n));
      if (bad !== undefined) {
        out.push({ at: rule.at, message: `policy ${q(rule.policy)}: rule "${ruleText(rule)}": ${q(bad)} is not a tool type`, hint: `tool types: ${TOOL_TYPES.join(', ')}` });
        continue;
      }
    }
    for (const name of names) {
      if (rule.action === 'require') requires.push({ rule, kind: rule.resource as Requirable, name });
      else if (rule.action === 'deny') denies.push({ rule, kind: rule.resource as Deniable, match: matcher(name) });
      else allows.push({ kind: rule.resource as Deniable, match: matcher(name) });
    }
  }
  const denying = (kind: Deniable, value: string): RuleFact<At> | undefined => {
    if (allows.some((a) => a.kind === kind && a.match(value))) return undefined;
    return denies.find((d) => d.kind === kind && d.match(value))?.rule;
  };
  for (const a of facts.agents) {
    const byModel = denying('model', a.model);
    if (byModel !== undefined) {
      out.push({ at: a.modelAt, message: `agent ${q(a.name)}: model ${q(a.model)} is denied by ${ruleRef(byModel)}`, hint: `use another model, or allow it with \`allow model ${a.model}\`` });
    }
    for (const s of a.skills) {
      const bySkill = denying('skill', s.name);
      if (bySkill !== undefined) out.push({ at: s.at, message: `agent ${q(a.name)}: skill ${q(s.name)} is denied by ${ruleRef(bySkill)}`, hint: 'remove the skill from the agent' });
    }
  }
  for (const s of facts.skills) {
    const byTool = s.tool === undefined ? undefined : denying('tool', s.tool);
    if (byTool !== undefined) out.push({ at: s.toolAt, message: `skill ${q(s.name)}: ${s.tool} tools are denied by ${ruleRef(byTool)}`, hint: 'use another tool type for the skill, or remove it' });
  }
  for (const r of requires) {
    const declared = [...facts.declared[r.kind]];
    const match = matcher(r.name);
    if (!declared.some(match)) out.push({ at: r.rule.at, message: `policy ${q(r.rule.policy)}: ${r.kind} ${q(r.name)} is required (${ruleText(r.rule)}) but not declared`, hint: `declare ${r.kind} ${q(r.name)}` });
  }
  return out;
}

function emptyDeclared(): Record<Requirable, Set<string>> {
  return { secret: new Set(), skill: new Set(), prompt: new Set(), agent: new Set(), server: new Set(), client: new Set() };
}

// ---- AST: validate, plan, apply -------------------------------------------------------------

interface AstAt {
  stmt: Statement | undefined;
  pos: Pos;
}

function onInputSkills(body: readonly OnInputStmt[], out: Array<{ name: string; at: AstAt }>, stmt: AgentStmt): void {
  for (const s of body) {
    if (s.kind === 'use') out.push({ name: s.skill, at: { stmt, pos: s.pos } });
    else if (s.kind === 'if') {
      onInputSkills(s.body, out, stmt);
      for (const e of s.elseIfs) onInputSkills(e.body, out, stmt);
      if (s.elseBody !== undefined) onInputSkills(s.elseBody, out, stmt);
    } else if (s.kind === 'for_each') onInputSkills(s.body, out, stmt);
  }
}

/** REFERENCE 2.2 `policy`: each rule is checked, and every agent and skill against the rules. */
export function validatePolicies(input: ValidationInput): Diagnostic[] {
  const r = new Reporter(input);
  const rules: RuleFact<AstAt>[] = [];
  const facts: PolicyFacts<AstAt> = { agents: [], skills: [], declared: emptyDeclared() };
  for (const s of input.statements) {
    switch (s.kind) {
      case 'policy':
        for (const rule of s.rules) {
          rules.push({ policy: s.name, action: rule.action, resource: rule.resource, subject: rule.subject, at: { stmt: s, pos: rule.pos }, where: `${r.fileOf(s)}:${rule.pos.line}:${rule.pos.column}` });
        }
        break;
      case 'agent': {
        facts.declared.agent.add(s.name);
        const skills = s.skills.map((k) => ({ name: k.value, at: { stmt: s, pos: k.pos } }));
        if (s.onInput !== undefined) onInputSkills(s.onInput.body, skills, s);
        facts.agents.push({ name: s.name, model: s.model?.value ?? '', modelAt: { stmt: s, pos: s.model?.pos ?? s.pos }, skills });
        break;
      }
      case 'skill':
        facts.declared.skill.add(s.name);
        facts.skills.push({ name: s.name, tool: s.tool?.type, toolAt: { stmt: s, pos: s.tool?.pos ?? s.pos } });
        break;
      case 'secret':
      case 'prompt':
      case 'server':
      case 'client':
        facts.declared[s.kind].add(s.name);
        break;
      default:
        break;
    }
  }
  if (rules.length === 0) return [];
  for (const f of checkPolicies(rules, facts)) r.at(f.at.stmt, f.at.pos, f.message, f.hint);
  return r.diagnostics;
}

// ---- IR: the runtime at start-up, specs after environment overrides ----------------------------

const KIND_WORD: Partial<Record<string, Requirable>> = { Secret: 'secret', Skill: 'skill', Prompt: 'prompt', Agent: 'agent', MCPServer: 'server', MCPClient: 'client' };

const strings = (v: JsonValue | undefined): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

function irOnInputSkills(v: JsonValue | undefined, out: string[]): void {
  if (!Array.isArray(v)) return;
  for (const s of v) {
    if (typeof s !== 'object' || s === null || Array.isArray(s)) continue;
    if (s.type === 'use_skill' && typeof s.skill === 'string') out.push(s.skill);
    irOnInputSkills(s.body, out);
    irOnInputSkills(s.else_body, out);
    for (const e of Array.isArray(s.else_ifs) ? s.else_ifs : []) if (typeof e === 'object' && e !== null && !Array.isArray(e)) irOnInputSkills(e.body, out);
  }
}

/** Every policy finding of one IR document, as text naming the rule (an IR document has no positions). */
export function documentPolicyFindings(doc: IRDocument): string[] {
  const rules: RuleFact<undefined>[] = (doc.policies ?? []).flatMap((p) => (p.rules ?? []).map((r) => ({ policy: p.name, action: r.action, resource: r.resource, subject: r.subject, at: undefined })));
  if (rules.length === 0) return [];
  const facts: PolicyFacts<undefined> = { agents: [], skills: [], declared: emptyDeclared() };
  for (const r of doc.resources ?? []) {
    const kind = KIND_WORD[r.kind];
    if (kind !== undefined) facts.declared[kind].add(r.name);
    const a = r.attributes;
    if (r.kind === 'Agent') {
      const skills = strings(a.skills);
      irOnInputSkills(a.on_input, skills);
      facts.agents.push({ name: r.name, model: typeof a.model === 'string' ? a.model : '', modelAt: undefined, skills: skills.map((name) => ({ name, at: undefined })) });
    } else if (r.kind === 'Skill') {
      const tool = typeof a.tool === 'object' && a.tool !== null && !Array.isArray(a.tool) && typeof a.tool.type === 'string' ? a.tool.type : undefined;
      facts.skills.push({ name: r.name, tool, toolAt: undefined });
    }
  }
  return checkPolicies(rules, facts).map((f) => `package ${q(doc.package.name)}: ${f.message}`);
}

/** The served spec breaks its own policies: the runtime does not start. */
export class PolicyViolationError extends AgentspecError {
  readonly findings: string[];

  constructor(findings: string[]) {
    super('E_POLICY_VIOLATION', `the spec breaks its policies; nothing was started:\n${findings.map((f) => `  ${f}`).join('\n')}`);
    this.findings = findings;
  }
}

/** Throws PolicyViolationError when any document breaks its policies or has a rule of an unknown form. */
export function enforcePolicies(docs: readonly IRDocument[]): void {
  const findings = docs.flatMap(documentPolicyFindings);
  if (findings.length > 0) throw new PolicyViolationError(findings);
}
