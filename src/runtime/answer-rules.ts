import { AgentspecError } from '../errors.ts';
import { attrString } from '../ir/attributes.ts';
import type { JsonValue } from '../ir/types.ts';
import type { ExprValue } from '../lang/expression.ts';
import { logger } from '../log.ts';
import { evaluateCondition } from '../lang/evaluate.ts';
import { compileExpression, evaluateIn, InvalidAgentLogicError, objectOf, type CompiledExpr } from './on-input/index.ts';

/**
 * An agent's `validate { rule ... }` (3.0): a model answer passes a rule when the rule's `when`
 * expression is true for it. An `error` rule that fails re-asks the model (up to the rule's
 * `max_retries`); a `warning` rule that fails is logged and the answer goes out.
 */
export interface AnswerRule {
  name: string;
  severity: 'error' | 'warning';
  check: CompiledExpr;
  maxRetries: number;
  message: string;
}

/** The model's answer still failed an error rule after the rule's re-asks. Surfaces as HTTP 422. */
export class AnswerRejectedError extends AgentspecError {
  readonly agent: string;
  readonly rule: string;
  /** Answers the model gave in this turn, the rejected ones included. */
  readonly attempts: number;

  constructor(agent: string, rule: AnswerRule, attempts: number) {
    super(
      'E_ANSWER_REJECTED',
      `agent "${agent}": the answer failed rule "${rule.name}" (${rule.message}) after ${attempts} attempt(s); nothing was saved`,
    );
    this.agent = agent;
    this.rule = rule.name;
    this.attempts = attempts;
  }
}

/** The agent's `validation_rules`, compiled at start-up; undefined when it has none. */
export function compileAnswerRules(agent: string, raw: JsonValue | undefined): AnswerRule[] | undefined {
  if (!Array.isArray(raw) || raw.length === 0) return undefined;
  return raw.map((entry, i) => {
    const r = objectOf(entry);
    const name = attrString(r?.name) ?? `#${i + 1}`;
    const where = `validate rule "${name}"`;
    const severity = attrString(r?.severity);
    if (severity !== 'error' && severity !== 'warning') throw new InvalidAgentLogicError(agent, where, `severity "${severity ?? ''}" is not error or warning`);
    const retries = r?.max_retries;
    return {
      name,
      severity,
      check: compileExpression(agent, attrString(r?.expression) ?? '', where),
      maxRetries: typeof retries === 'number' && Number.isInteger(retries) && retries > 0 ? retries : 0,
      message: attrString(r?.message) ?? `rule ${name}`,
    };
  });
}

export interface AnswerScope {
  input: string;
  output: string;
  steps: Record<string, ExprValue>;
  variables: Readonly<Record<string, string>>;
  config: Record<string, ExprValue>;
}

/** The rules the answer fails, by severity. An expression that cannot run is an ExpressionError. */
export function failedRules(agent: string, rules: readonly AnswerRule[], answer: AnswerScope): { errors: AnswerRule[]; warnings: AnswerRule[] } {
  const scope = new Map<string, ExprValue>([
    ['input', answer.input],
    ['output', answer.output],
    ['steps', answer.steps],
    ['variables', { ...answer.variables }],
    ['config', answer.config],
  ]);
  const errors: AnswerRule[] = [];
  const warnings: AnswerRule[] = [];
  for (const rule of rules) {
    const ok = evaluateIn(agent, rule.check, () => evaluateCondition(rule.check.expr, scope));
    if (!ok) (rule.severity === 'error' ? errors : warnings).push(rule);
  }
  return { errors, warnings };
}

/** What the model is told when its answer failed error rules (a user message of the same turn). */
export function reaskText(failed: readonly AnswerRule[]): string {
  const reasons = failed.map((r) => `- ${r.name}: ${r.message}`).join('\n');
  return `Your previous answer was rejected by these rules:\n${reasons}\nAnswer the last question again so that it satisfies them.`;
}

/** Re-asks left per rule during one turn. */
export class ReaskBudget {
  private readonly used = new Map<string, number>();

  constructor(private readonly agent: string) {}

  /** Count one re-ask for each failed rule; throws when a rule has none left. */
  spend(failed: readonly AnswerRule[], attempts: number): void {
    for (const rule of failed) {
      const used = this.used.get(rule.name) ?? 0;
      if (used >= rule.maxRetries) throw new AnswerRejectedError(this.agent, rule, attempts);
      this.used.set(rule.name, used + 1);
    }
  }
}

export function logWarnings(agent: string, sessionId: string | undefined, warnings: readonly AnswerRule[]): void {
  for (const rule of warnings) {
    logger('runtime').warn({ agent, rule: rule.name, session: sessionId, message: rule.message }, 'answer failed a warning rule');
  }
}
