/**
 * The evaluator of the expression language (expression.ts parses it): `on input` statements,
 * `validate` rules and pipeline step `when` conditions all run here, so one text means one thing
 * wherever a spec writes it.
 */
import type { Expr, ExprValue, FunctionName, TemplatePart } from './expression.ts';

/** A failure inside evaluation; the caller knows where the expression is and wraps it. */
export class EvalFailure extends Error {
  readonly column: number;

  constructor(reason: string, column: number) {
    super(`${reason} (column ${column})`);
    this.column = column;
  }
}

export type Scope = ReadonlyMap<string, ExprValue>;

function typeName(v: ExprValue): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'list';
  return typeof v === 'object' ? 'object' : typeof v;
}

function isObject(v: ExprValue): v is { [key: string]: ExprValue } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** How a value reads as text: strings as they are, null as nothing, the rest as JSON. */
export function asText(v: ExprValue): string {
  if (typeof v === 'string') return v;
  if (v === null) return '';
  return JSON.stringify(v);
}

function deepEqual(a: ExprValue, b: ExprValue): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i] ?? null));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k] ?? null, b[k] ?? null));
  }
  return false;
}

function str(v: ExprValue, what: string, column: number): string {
  if (typeof v !== 'string') throw new EvalFailure(`${what} needs a string, got ${typeName(v)}`, column);
  return v;
}

function bool(v: ExprValue, what: string, column: number): boolean {
  if (typeof v !== 'boolean') throw new EvalFailure(`${what} needs true or false, got ${typeName(v)}`, column);
  return v;
}

function fromJson(text: string, column: number): ExprValue {
  try {
    return JSON.parse(text) as ExprValue;
  } catch (err) {
    throw new EvalFailure(`fromJSON: the text is not JSON (${err instanceof Error ? err.message : String(err)})`, column);
  }
}

const FUNCTION_IMPLS: Record<FunctionName, (args: ExprValue[], column: number) => ExprValue> = {
  len: ([v = null], column) => {
    if (typeof v === 'string') return [...v].length;
    if (Array.isArray(v)) return v.length;
    if (isObject(v)) return Object.keys(v).length;
    throw new EvalFailure(`len() needs a string, list or object, got ${typeName(v)}`, column);
  },
  lower: ([v = null], column) => str(v, 'lower()', column).toLowerCase(),
  upper: ([v = null], column) => str(v, 'upper()', column).toUpperCase(),
  trim: ([v = null], column) => str(v, 'trim()', column).trim(),
  split: ([v = null, sep = null], column) => str(v, 'split()', column).split(str(sep, 'split() separator', column)),
  isJSON: ([v = null], column) => {
    const text = str(v, 'isJSON()', column);
    try {
      JSON.parse(text);
      return true;
    } catch {
      // Not JSON is the answer here, not a failure.
      return false;
    }
  },
  fromJSON: ([v = null], column) => fromJson(str(v, 'fromJSON()', column), column),
  toJSON: ([v = null]) => JSON.stringify(v),
  string: ([v = null]) => asText(v),
  number: ([v = null], column) => {
    if (typeof v === 'number') return v;
    const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
    if (!Number.isFinite(n)) throw new EvalFailure(`number() cannot read ${typeof v === 'string' ? JSON.stringify(v) : typeName(v)} as a number`, column);
    return n;
  },
};

function compare(op: string, a: ExprValue, b: ExprValue, column: number): boolean {
  if (!((typeof a === 'number' && typeof b === 'number') || (typeof a === 'string' && typeof b === 'string'))) {
    throw new EvalFailure(`"${op}" compares two numbers or two strings, got ${typeName(a)} and ${typeName(b)}`, column);
  }
  switch (op) {
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    default:
      return a >= b;
  }
}

function contains(container: ExprValue, item: ExprValue, op: string, column: number): boolean {
  if (typeof container === 'string') return container.includes(str(item, `"${op}" on a string`, column));
  if (Array.isArray(container)) return container.some((x) => deepEqual(x, item));
  if (isObject(container)) return Object.hasOwn(container, str(item, `"${op}" on an object`, column));
  throw new EvalFailure(`"${op}" needs a string, list or object, got ${typeName(container)}`, column);
}

function binary(e: Extract<Expr, { kind: 'binary' }>, scope: Scope): boolean {
  const a = evaluate(e.left, scope);
  const b = evaluate(e.right, scope);
  switch (e.op) {
    case '==':
      return deepEqual(a, b);
    case '!=':
      return !deepEqual(a, b);
    case '<':
    case '<=':
    case '>':
    case '>=':
      return compare(e.op, a, b, e.column);
    case 'matches':
      // The parser compiled the pattern, which is always a literal of the spec.
      if (e.regex === undefined) throw new EvalFailure('the pattern of "matches" must be a string literal', e.right.column);
      return e.regex.test(str(a, '"matches"', e.column));
    case 'contains':
      return contains(a, b, e.op, e.column);
    case 'in':
      return contains(b, a, e.op, e.column);
    case 'startsWith':
      return str(a, '"startsWith"', e.column).startsWith(str(b, '"startsWith"', e.column));
    case 'endsWith':
      return str(a, '"endsWith"', e.column).endsWith(str(b, '"endsWith"', e.column));
  }
}

function member(object: ExprValue, key: string, column: number): ExprValue {
  if (object === null) return null;
  if (isObject(object)) return Object.hasOwn(object, key) ? (object[key] ?? null) : null;
  throw new EvalFailure(`a ${typeName(object)} has no field "${key}"${typeof object === 'string' ? ' (fromJSON(...) reads JSON text)' : ''}`, column);
}

/** Evaluate an expression; throws EvalFailure. Missing fields read as null, never as an error. */
export function evaluate(e: Expr, scope: Scope): ExprValue {
  switch (e.kind) {
    case 'literal':
      return e.value;
    case 'list':
      return e.items.map((i) => evaluate(i, scope));
    case 'var': {
      const v = scope.get(e.name);
      if (v === undefined) throw new EvalFailure(`unknown variable "${e.name}"`, e.column);
      return v;
    }
    case 'member':
      return member(evaluate(e.object, scope), e.name, e.column);
    case 'index': {
      const object = evaluate(e.object, scope);
      const index = evaluate(e.index, scope);
      if (Array.isArray(object)) {
        if (typeof index !== 'number' || !Number.isInteger(index)) throw new EvalFailure(`a list index must be a whole number, got ${typeName(index)}`, e.column);
        return object[index] ?? null;
      }
      return member(object, str(index, 'an object index', e.column), e.column);
    }
    case 'call':
      return FUNCTION_IMPLS[e.fn](
        e.args.map((a) => evaluate(a, scope)),
        e.column,
      );
    case 'not':
      return !bool(evaluate(e.operand, scope), '"not"', e.column);
    case 'logical': {
      const left = bool(evaluate(e.left, scope), `"${e.op}"`, e.column);
      if (e.op === 'and' ? !left : left) return left;
      return bool(evaluate(e.right, scope), `"${e.op}"`, e.column);
    }
    case 'binary':
      return binary(e, scope);
  }
}

/** A condition: the expression must give true or false. */
export function evaluateCondition(e: Expr, scope: Scope): boolean {
  return bool(evaluate(e, scope), 'a condition', e.column);
}

/** `respond` text with its `{{ EXPR }}` placeholders filled in. */
export function renderTemplate(parts: readonly TemplatePart[], scope: Scope): string {
  return parts.map((p) => ('text' in p ? p.text : asText(evaluate(p.expr, scope)))).join('');
}
