import { AgentspecError } from '../../errors.ts';
import { EvalFailure } from '../../lang/evaluate.ts';

/** A failure of an agent's 3.0 logic, naming the agent and where in it (`on input statement 2 (respond)`). */
export class AgentLogicError extends AgentspecError {
  readonly agent: string;
  readonly where: string;

  constructor(code: string, agent: string, where: string, reason: string) {
    super(code, `agent "${agent}", ${where}: ${reason}`);
    this.agent = agent;
    this.where = where;
  }
}

/**
 * An expression or statement of the served spec cannot run (found at start-up, so `agentspec run`
 * refuses to serve it; `agentspec validate` reports the same with file:line).
 */
export class InvalidAgentLogicError extends AgentLogicError {
  constructor(agent: string, where: string, reason: string) {
    super('E_AGENT_LOGIC', agent, where, reason);
  }
}

/** `on input` could not finish (a bound was reached, a delegation loops). Surfaces as HTTP 500. */
export class OnInputError extends AgentLogicError {
  constructor(agent: string, where: string, reason: string) {
    super('E_ON_INPUT', agent, where, reason);
  }
}

/**
 * An expression of the spec failed while a turn ran (a comparison of a string with a number,
 * `fromJSON` of text that is not JSON, ...). Surfaces as HTTP 422 `expression_error`, naming the
 * agent, where the expression is written and the expression itself.
 */
export class ExpressionError extends AgentLogicError {
  readonly expression: string;
  readonly reason: string;

  constructor(agent: string, where: string, expression: string, reason: string) {
    super('E_EXPRESSION', agent, where, `expression \`${expression}\` failed: ${reason}`);
    this.expression = expression;
    this.reason = reason;
  }
}

/** Evaluate a compiled expression of `agent`; a failure is an ExpressionError naming it and where it is written. */
export function evaluateIn<T>(agent: string, at: { where: string; source: string }, f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof EvalFailure) throw new ExpressionError(agent, at.where, at.source, err.message);
    throw err;
  }
}
