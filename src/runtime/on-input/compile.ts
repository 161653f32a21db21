import { attrString, attrStringMap } from '../../ir/attributes.ts';
import type { JsonValue } from '../../ir/types.ts';
import { InvalidAgentLogicError } from './errors.ts';
import { ExpressionSyntaxError, parseInScope, parseRespond, ROOT_VARIABLES, type Expr, type ExprValue, type RespondForm } from '../../lang/expression.ts';

/** An expression ready to evaluate, with its text and where it is written (for error messages). */
export interface CompiledExpr {
  expr: Expr;
  source: string;
  where: string;
}

export type OnInputStatement =
  | { type: 'use_skill'; skill: string; params: Array<{ key: string; value: CompiledExpr }> | undefined; where: string }
  | { type: 'delegate'; agent: string; where: string }
  | { type: 'respond'; form: RespondForm; source: string; where: string }
  | { type: 'if'; branches: Array<{ condition: CompiledExpr; body: OnInputStatement[] }>; elseBody: OnInputStatement[] }
  | { type: 'for_each'; variable: string; collection: CompiledExpr; body: OnInputStatement[]; where: string };

const BASE_SCOPE: readonly string[] = ROOT_VARIABLES;

export function objectOf(v: JsonValue | undefined): { [key: string]: JsonValue } | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? v : undefined;
}

class Compiler {
  /** Skills and agents the statements name, so the caller can resolve them once. */
  readonly skills = new Set<string>();
  readonly agents = new Set<string>();

  constructor(private readonly agent: string) {}

  private fail(where: string, reason: string): never {
    throw new InvalidAgentLogicError(this.agent, where, reason);
  }

  expr(text: string, where: string, scope: ReadonlySet<string>): CompiledExpr {
    try {
      return { expr: parseInScope(text, scope), source: text, where };
    } catch (err) {
      if (err instanceof ExpressionSyntaxError) this.fail(where, `expression \`${text}\`: ${err.message}`);
      throw err;
    }
  }

  block(raw: JsonValue | undefined, path: string, scope: ReadonlySet<string>): OnInputStatement[] {
    if (raw === undefined || raw === null) return [];
    if (!Array.isArray(raw)) this.fail(path, 'the statements are not a list');
    return raw.map((s, i) => this.statement(s, `${path}.${i + 1}`, scope));
  }

  private statement(raw: JsonValue, path: string, scope: ReadonlySet<string>): OnInputStatement {
    const s = objectOf(raw);
    const type = attrString(s?.type);
    const at = `on input statement ${path.slice(1)}`;
    switch (type) {
      case 'use_skill': {
        const skill = attrString(s?.skill) ?? '';
        if (skill === '') this.fail(at, '`use skill` names no skill');
        this.skills.add(skill);
        const rawParams = objectOf(s?.params);
        const params =
          rawParams === undefined
            ? undefined
            : Object.entries(attrStringMap(rawParams)).map(([key, text]) => ({ key, value: this.expr(text, `${at} (use skill ${skill}, with ${key})`, scope) }));
        return { type: 'use_skill', skill, params, where: `${at} (use skill ${skill})` };
      }
      case 'delegate': {
        const agent = attrString(s?.agent) ?? '';
        if (agent === '') this.fail(at, '`delegate` names no agent');
        this.agents.add(agent);
        return { type: 'delegate', agent, where: `${at} (delegate to ${agent})` };
      }
      case 'respond': {
        const text = attrString(s?.expression) ?? '';
        const where = `${at} (respond)`;
        try {
          return { type: 'respond', form: parseRespond(text, scope), source: text, where };
        } catch (err) {
          if (err instanceof ExpressionSyntaxError) this.fail(where, `\`${text}\`: ${err.message}`);
          throw err;
        }
      }
      case 'if': {
        const branches = [{ condition: this.expr(attrString(s?.condition) ?? '', `${at} (if condition)`, scope), body: this.block(s?.body, `${path}.then`, scope) }];
        const elseIfs = Array.isArray(s?.else_ifs) ? s.else_ifs : [];
        elseIfs.forEach((e, i) => {
          const o = objectOf(e);
          branches.push({
            condition: this.expr(attrString(o?.condition) ?? '', `${at} (else if ${i + 1} condition)`, scope),
            body: this.block(o?.body, `${path}.elseif${i + 1}`, scope),
          });
        });
        return { type: 'if', branches, elseBody: this.block(s?.else_body, `${path}.else`, scope) };
      }
      case 'for_each': {
        const variable = attrString(s?.variable) ?? '';
        const where = `${at} (for each ${variable})`;
        if (variable === '' || BASE_SCOPE.includes(variable)) this.fail(where, `the loop variable must be a new name, not "${variable}"`);
        const collection = this.expr(attrString(s?.collection) ?? '', `${where} collection`, scope);
        return { type: 'for_each', variable, collection, body: this.block(s?.body, `${path}.each`, new Set([...scope, variable])), where };
      }
      default:
        return this.fail(at, `unknown statement type "${type ?? ''}"`);
    }
  }
}

export interface CompiledOnInput {
  statements: OnInputStatement[];
  skills: ReadonlySet<string>;
  agents: ReadonlySet<string>;
}

/** The agent's `on_input` attribute, parsed once at start-up; undefined when it has none. */
export function compileOnInput(agent: string, raw: JsonValue | undefined): CompiledOnInput | undefined {
  if (raw === undefined) return undefined;
  const c = new Compiler(agent);
  const statements = c.block(raw, '', new Set(BASE_SCOPE));
  return { statements, skills: c.skills, agents: c.agents };
}

/** One expression outside `on input` (a validate rule), checked against the base variables. */
export function compileExpression(agent: string, text: string, where: string): CompiledExpr {
  return new Compiler(agent).expr(text, where, new Set(BASE_SCOPE));
}

/**
 * `config` as expressions see it: each `config` param that has a default, read as its type
 * (`int`/`float` as numbers, `bool` as true/false). Secrets and params without a default are absent.
 */
export function configValues(raw: JsonValue | undefined): Record<string, ExprValue> {
  const out: Record<string, ExprValue> = {};
  for (const p of Array.isArray(raw) ? raw : []) {
    const o = objectOf(p);
    const name = attrString(o?.name);
    const value = attrString(o?.default);
    if (name === undefined || value === undefined || o?.secret === true) continue;
    const type = attrString(o?.type);
    const n = Number(value);
    out[name] = (type === 'int' || type === 'float') && value.trim() !== '' && Number.isFinite(n) ? n : type === 'bool' ? value === 'true' : value;
  }
  return out;
}
