import type { ExprValue } from '../../lang/expression.ts';
import type { Tool } from '../../tools/index.ts';
import type { AgentDefinition } from '../agents.ts';
import { runTools } from '../tool-calls.ts';
import type { CompiledExpr, OnInputStatement } from './compile.ts';
import { asText, evaluate, evaluateCondition, renderTemplate } from '../../lang/evaluate.ts';
import { evaluateIn, ExpressionError, OnInputError } from './errors.ts';

/** Skill and delegate runs one turn's `on input` may make (a `for each` over user data is bounded). */
export const MAX_ON_INPUT_ACTIONS = 50;
/** Items one `for each` may loop over. */
export const MAX_FOR_EACH_ITEMS = 100;

export interface OnInputContext {
  agent: AgentDefinition;
  message: string;
  variables: Readonly<Record<string, string>>;
  /** Executors of the skills the statements use (whether or not the agent offers them to its model). */
  tools: ReadonlyMap<string, Tool>;
  /** Runs another agent with `message` and gives its answer. */
  delegate(agent: string, message: string): Promise<string>;
  signal: AbortSignal;
  sessionId?: string;
}

/** What one skill or delegate run gave. */
export interface StepResult {
  kind: 'skill' | 'agent';
  name: string;
  result: string;
  failed: boolean;
}

export interface OnInputOutcome {
  /** Set when a `respond` ran: the turn's answer, and the model is not called. */
  answer?: string;
  /** Results by skill / agent name (the last run of each), as `steps` sees them. */
  steps: Record<string, ExprValue>;
  /** Every run, in order. */
  ran: StepResult[];
}

class Runner {
  private readonly scope = new Map<string, ExprValue>();
  private readonly steps: Record<string, ExprValue> = {};
  private readonly ran: StepResult[] = [];
  private calls = 0;

  constructor(
    private readonly ctx: OnInputContext,
    config: Record<string, ExprValue>,
  ) {
    this.scope.set('input', ctx.message);
    this.scope.set('output', '');
    this.scope.set('steps', this.steps);
    this.scope.set('variables', { ...ctx.variables });
    this.scope.set('config', config);
  }

  private value(e: CompiledExpr, condition = false): ExprValue {
    return evaluateIn(this.ctx.agent.name, e, () => (condition ? evaluateCondition(e.expr, this.scope) : evaluate(e.expr, this.scope)));
  }

  private record(step: StepResult): void {
    this.ran.push(step);
    this.steps[step.name] = step.result;
    this.scope.set('output', step.result);
  }

  private count(where: string): void {
    if (++this.calls > MAX_ON_INPUT_ACTIONS) throw new OnInputError(this.ctx.agent.name, where, `more than ${MAX_ON_INPUT_ACTIONS} skill or delegate runs in one turn`);
  }

  /** Runs the statements in order; a `respond` ends them all with its answer. */
  async block(stmts: readonly OnInputStatement[]): Promise<string | undefined> {
    for (const s of stmts) {
      const answer = await this.statement(s);
      if (answer !== undefined) return answer;
    }
    return undefined;
  }

  private async statement(s: OnInputStatement): Promise<string | undefined> {
    switch (s.type) {
      case 'use_skill':
        return this.useSkill(s);
      case 'delegate': {
        this.count(s.where);
        const answer = await this.ctx.delegate(s.agent, this.ctx.message);
        this.record({ kind: 'agent', name: s.agent, result: answer, failed: false });
        return undefined;
      }
      case 'respond': {
        const form = s.form;
        return evaluateIn(this.ctx.agent.name, s, () => ('expr' in form ? asText(evaluate(form.expr, this.scope)) : renderTemplate(form.template, this.scope)));
      }
      case 'if': {
        for (const b of s.branches) {
          if (this.value(b.condition, true) === true) return this.block(b.body);
        }
        return this.block(s.elseBody);
      }
      case 'for_each': {
        const items = this.value(s.collection);
        if (!Array.isArray(items)) {
          throw new ExpressionError(this.ctx.agent.name, s.collection.where, s.collection.source, `for each needs a list, got ${items === null ? 'null' : typeof items}`);
        }
        if (items.length > MAX_FOR_EACH_ITEMS) throw new OnInputError(this.ctx.agent.name, s.where, `the list has ${items.length} items; at most ${MAX_FOR_EACH_ITEMS}`);
        const outer = this.scope.get(s.variable);
        try {
          for (const item of items) {
            this.scope.set(s.variable, item);
            const answer = await this.block(s.body);
            if (answer !== undefined) return answer;
          }
        } finally {
          if (outer === undefined) this.scope.delete(s.variable);
          else this.scope.set(s.variable, outer);
        }
        return undefined;
      }
    }
  }

  private async useSkill(s: Extract<OnInputStatement, { type: 'use_skill' }>): Promise<undefined> {
    this.count(s.where);
    const tool = this.ctx.tools.get(s.skill);
    let input: Record<string, ExprValue> = {};
    if (s.params !== undefined) {
      for (const p of s.params) input[p.key] = this.value(p.value);
    } else {
      // Without `with`, a skill of one input field gets the message in it; others get no arguments.
      const fields = Object.keys((tool?.spec.input_schema.properties as Record<string, unknown> | undefined) ?? {});
      if (fields.length === 1 && fields[0] !== undefined) input = { [fields[0]]: this.ctx.message };
    }
    const [r] = await runTools({ ...this.ctx.agent, executors: this.ctx.tools }, [{ id: `on_input_${this.calls}`, name: s.skill, input }], {
      signal: this.ctx.signal,
      ...(this.ctx.sessionId === undefined ? {} : { session: this.ctx.sessionId }),
    });
    const result = r?.message.tool_result;
    this.record({ kind: 'skill', name: s.skill, result: result?.content ?? '', failed: result?.is_error === true });
    return undefined;
  }

  outcome(answer?: string): OnInputOutcome {
    return { steps: this.steps, ran: this.ran, ...(answer === undefined ? {} : { answer }) };
  }
}

/** Run an agent's `on input` statements; the first `respond` ends them with the turn's answer. */
export async function runOnInput(statements: readonly OnInputStatement[], config: Record<string, ExprValue>, ctx: OnInputContext): Promise<OnInputOutcome> {
  const runner = new Runner(ctx, config);
  return runner.outcome(await runner.block(statements));
}

/** The results the model gets with its system prompt when `on input` did not answer by itself. */
export function stepsContext(ran: readonly StepResult[]): string {
  if (ran.length === 0) return '';
  const lines = ran.map((r) => `[${r.kind} ${r.name}${r.failed ? ', failed' : ''}]\n${r.result}`);
  return `\n\nResults gathered for this message before you answer:\n${lines.join('\n')}`;
}
