import type { IRDocument, Resource } from '../ir/types.ts';
import type { ExprValue } from '../lang/expression.ts';
import type { Tool, ToolSet } from '../tools/index.ts';
import { compileAnswerRules, type AnswerRule } from './answer-rules.ts';
import { compileOnInput, configValues, InvalidAgentLogicError, type OnInputStatement } from './on-input/index.ts';

/** [3.0] What an agent declares around its model: `on input` statements and `validate` rules. */
export interface AgentLogic {
  onInput?: {
    statements: OnInputStatement[];
    /** Executors of the skills the statements use (empty without a tool set). */
    tools: ReadonlyMap<string, Tool>;
    /** Agents the statements delegate to (checked against the served agents at start-up). */
    agents: ReadonlySet<string>;
  };
  rules?: AnswerRule[];
  /** `config` params with defaults, as expressions read them. */
  config: Record<string, ExprValue>;
}

/** Compile an agent's logic at start-up; undefined for an agent without either block (the common case). */
export function agentLogicOf(r: Resource, doc: IRDocument, toolset: ToolSet | undefined): AgentLogic | undefined {
  const a = r.attributes;
  const compiled = compileOnInput(r.name, a.on_input);
  const rules = compileAnswerRules(r.name, a.validation_rules);
  if (compiled === undefined && rules === undefined) return undefined;
  const logic: AgentLogic = { config: configValues(a.config_params) };
  if (rules !== undefined) logic.rules = rules;
  if (compiled !== undefined) {
    const tools = new Map<string, Tool>();
    for (const skill of compiled.skills) {
      const declared = (doc.resources ?? []).some((x) => x.kind === 'Skill' && x.name === skill);
      if (!declared) throw new InvalidAgentLogicError(r.name, 'on input', `skill "${skill}" is not declared in its package`);
      const tool = toolset?.skillOf(doc, skill);
      if (tool !== undefined) tools.set(skill, tool);
    }
    logic.onInput = { statements: compiled.statements, tools, agents: compiled.agents };
  }
  return logic;
}
