import { AgentspecError } from '../../errors.ts';
import { attrString, attrStringList } from '../../ir/attributes.ts';
import type { IRDocument } from '../../ir/types.ts';
import { ExpressionSyntaxError, parseWhen, type Expr } from '../../lang/expression.ts';
import { findCycle } from '../../lang/graph.ts';
import type { AgentRegistry } from '../agents.ts';

/** A served pipeline cannot run as written (an unknown agent or step, a cycle, a bad `when`). */
export class PipelineConfigError extends AgentspecError {
  readonly pipeline: string;

  constructor(pipeline: string, message: string) {
    super('E_PIPELINE_CONFIG', `pipeline "${pipeline}": ${message}`);
    this.pipeline = pipeline;
  }
}

export interface StepDefinition {
  name: string;
  agent: string;
  /** The step's own `input` text: its message instead of what came before. */
  input: string | undefined;
  /** Documentation of what the step produces (`output`); not used to run it. */
  output: string | undefined;
  dependsOn: string[];
  parallel: boolean;
  when: { text: string; condition: Expr } | undefined;
}

export interface PipelineDefinition {
  name: string;
  fqn: string;
  steps: StepDefinition[];
}

/** The pipelines one `agentspec run` serves, by name. */
export class PipelineRegistry {
  private readonly pipelines: Map<string, PipelineDefinition>;

  constructor(pipelines: PipelineDefinition[]) {
    this.pipelines = new Map(pipelines.map((p) => [p.name, p]));
  }

  get(name: string): PipelineDefinition | undefined {
    return this.pipelines.get(name);
  }

  list(): PipelineDefinition[] {
    return [...this.pipelines.values()].sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
  }
}

/**
 * Every Pipeline resource of the served documents, checked at start-up like agents are: each step
 * names a served agent, `depends_on` names steps of the same pipeline, the steps form no cycle,
 * every `when` parses, and no two served pipelines share a name. (`validate` reports the same
 * problems with file:line; an IR snapshot may not have been validated.)
 */
export function buildPipelineRegistry(docs: IRDocument[], agents: AgentRegistry): PipelineRegistry {
  const out: PipelineDefinition[] = [];
  const seen = new Map<string, string>();
  for (const doc of docs) {
    for (const r of doc.resources ?? []) {
      if (r.kind !== 'Pipeline') continue;
      const other = seen.get(r.name);
      if (other !== undefined) throw new PipelineConfigError(r.name, `defined twice (${other} and ${r.fqn}); pipeline names must be unique across the served files`);
      seen.set(r.name, r.fqn);
      out.push({ name: r.name, fqn: r.fqn, steps: stepsOf(r.name, r.attributes.steps, agents) });
    }
  }
  return new PipelineRegistry(out);
}

function stepsOf(pipeline: string, raw: unknown, agents: AgentRegistry): StepDefinition[] {
  const steps: StepDefinition[] = [];
  for (const s of Array.isArray(raw) ? raw : []) {
    if (typeof s !== 'object' || s === null || Array.isArray(s)) continue;
    const name = attrString(s.name) ?? '';
    const agent = attrString(s.agent) ?? '';
    if (name === '') throw new PipelineConfigError(pipeline, 'a step has no name');
    if (steps.some((x) => x.name === name)) throw new PipelineConfigError(pipeline, `step "${name}" is defined twice`);
    if (agent === '') throw new PipelineConfigError(pipeline, `step "${name}" names no agent`);
    if (agents.get(agent) === undefined) throw new PipelineConfigError(pipeline, `step "${name}": agent "${agent}" is not served`);
    const whenText = attrString(s.when);
    let when: StepDefinition['when'];
    if (whenText !== undefined && whenText.trim() !== '') {
      try {
        when = { text: whenText, condition: parseWhen(whenText) };
      } catch (err) {
        if (err instanceof ExpressionSyntaxError) throw new PipelineConfigError(pipeline, `step "${name}": when: condition ${JSON.stringify(whenText)}: ${err.message}`);
        throw err;
      }
    }
    steps.push({ name, agent, input: attrString(s.input), output: attrString(s.output), dependsOn: attrStringList(s.depends_on), parallel: s.parallel === true, when });
  }
  if (steps.length === 0) throw new PipelineConfigError(pipeline, 'has no steps');
  const names = new Set(steps.map((s) => s.name));
  for (const s of steps) for (const d of s.dependsOn) if (!names.has(d)) throw new PipelineConfigError(pipeline, `step "${s.name}" depends_on unknown step "${d}"`);
  const cycle = findCycle(
    steps.map((s) => s.name),
    (n) => steps.find((s) => s.name === n)?.dependsOn ?? [],
  );
  if (cycle !== undefined) throw new PipelineConfigError(pipeline, `its steps depend on each other in a cycle: ${cycle.join(' -> ')}`);
  return steps;
}
