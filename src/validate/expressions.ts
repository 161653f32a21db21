import type { AgentStmt, OnInputStmt, Pos } from '../lang/ast.ts';
import type { Diagnostic } from '../lang/diagnostics.ts';
import { ExpressionSyntaxError, parseExpression, parseInScope, parseRespond, ROOT_VARIABLES, type Expr } from '../lang/expression.ts';
import { Reporter, type ValidationInput } from './context.ts';

/** A string literal the IR's text form cannot carry: the IR keeps expressions as unescaped text. */
function quoteInside(e: Expr): boolean {
  switch (e.kind) {
    case 'literal':
      return typeof e.value === 'string' && e.value.includes('"');
    case 'var':
      return false;
    case 'list':
      return e.items.some(quoteInside);
    case 'call':
      return e.args.some(quoteInside);
    case 'member':
      return quoteInside(e.object);
    case 'index':
      return quoteInside(e.object) || quoteInside(e.index);
    case 'not':
      return quoteInside(e.operand);
    case 'logical':
    case 'binary':
      return quoteInside(e.left) || quoteInside(e.right);
  }
}

class ExpressionChecker {
  constructor(
    private readonly r: Reporter,
    private readonly agent: AgentStmt,
  ) {}

  private report(pos: Pos, what: string, text: string, err: unknown): void {
    if (!(err instanceof ExpressionSyntaxError)) throw err;
    this.r.at(this.agent, pos, `${what} \`${text}\`: ${err.message} of the expression`);
  }

  /** `source` is the escaped rebuild (ExprSource); `text` the plain one the IR keeps. */
  expr(pos: Pos, what: string, text: string, source: string | undefined, scope: ReadonlySet<string>): void {
    try {
      const e = parseInScope(source ?? text, scope, { escaped: source !== undefined });
      if (quoteInside(e)) this.r.at(this.agent, pos, `${what} \`${text}\`: a string in an expression cannot hold a double quote`, 'compare with a pattern instead, e.g. output matches "\\x22"');
    } catch (err) {
      this.report(pos, what, text, err);
    }
  }

  statements(body: readonly OnInputStmt[], scope: ReadonlySet<string>): void {
    for (const s of body) {
      switch (s.kind) {
        case 'use':
          for (const p of s.with?.params ?? []) this.expr(p.valuePos, `use ${s.skill} with ${p.key}:`, p.value, p.valueSource, scope);
          break;
        case 'delegate':
          break;
        case 'respond':
          this.respond(s, scope);
          break;
        case 'if':
          this.expr(s.conditionPos, 'if condition', s.condition, s.conditionSource, scope);
          this.statements(s.body, scope);
          for (const e of s.elseIfs) {
            this.expr(e.conditionPos, 'else if condition', e.condition, e.conditionSource, scope);
            this.statements(e.body, scope);
          }
          this.statements(s.elseBody ?? [], scope);
          break;
        case 'for_each': {
          this.expr(s.collectionPos, `for each ${s.variable} collection`, s.collection, s.collectionSource, scope);
          if ((ROOT_VARIABLES as readonly string[]).includes(s.variable)) this.r.at(this.agent, s.variablePos, `for each variable "${s.variable}" hides the variable of that name; choose another name`);
          this.statements(s.body, new Set([...scope, s.variable]));
          break;
        }
      }
    }
  }

  private respond(s: Extract<OnInputStmt, { kind: 'respond' }>, scope: ReadonlySet<string>): void {
    if (s.quoted) {
      // Literal text, with `{{ EXPR }}` placeholders (or, if the whole text reads as one, an expression).
      try {
        parseRespond(s.expression, scope);
      } catch (err) {
        this.report(s.pos, 'respond', s.expression, err);
      }
      return;
    }
    try {
      parseExpression(s.expressionSource ?? s.expression, { escaped: s.expressionSource !== undefined });
    } catch (err) {
      if (err instanceof ExpressionSyntaxError) {
        this.r.at(this.agent, s.pos, `respond \`${s.expression}\`: ${err.message} of the expression`, 'quote literal text: respond "..."');
        return;
      }
      throw err;
    }
    this.expr(s.pos, 'respond', s.expression, s.expressionSource, scope);
  }
}

/**
 * [3.0] Every `validate` rule's `when` and every `on input` expression parses, uses only known
 * functions and variables, and can be carried by the IR's text; each problem at its file:line.
 */
export function validateExpressions(input: ValidationInput): Diagnostic[] {
  const r = new Reporter(input);
  const base = new Set<string>(ROOT_VARIABLES);
  for (const stmt of input.statements) {
    if (stmt.kind !== 'agent') continue;
    const check = new ExpressionChecker(r, stmt);
    for (const rule of stmt.validate?.rules ?? []) {
      if (rule.when !== undefined && rule.when.value !== '') check.expr(rule.when.valuePos, `rule ${rule.name} when`, rule.when.value, rule.whenSource, base);
    }
    if (stmt.onInput !== undefined) check.statements(stmt.onInput.body, base);
  }
  return r.diagnostics;
}
