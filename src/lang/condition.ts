import { AgentspecError } from '../errors.ts';

/**
 * Conditions written as strings in a spec (a pipeline step's `when`). The forms are those
 * REFERENCE.md uses for expressions: comparisons `== != > >= < <=`, `matches "regex"`,
 * `contains`, `not`, `and`, `or`, parentheses, string / number / true / false / null literals and
 * dotted names (`trigger.priority`). Parsed once (a syntax error is a validation error with the
 * spec's position), evaluated against the names the caller provides.
 */

/** A condition that does not parse, or that cannot be evaluated against the values given. */
export class ConditionError extends AgentspecError {
  readonly expression: string;

  constructor(expression: string, reason: string) {
    super('E_CONDITION', `condition ${JSON.stringify(expression)}: ${reason}`);
    this.expression = expression;
  }
}

export type Value = string | number | boolean | null | Value[] | { [key: string]: Value };

type Op = '==' | '!=' | '>' | '>=' | '<' | '<=' | 'matches' | 'contains';

export type Condition =
  | { kind: 'literal'; value: Value }
  | { kind: 'path'; names: string[] }
  | { kind: 'not'; operand: Condition }
  | { kind: 'and' | 'or'; left: Condition; right: Condition }
  | { kind: 'compare'; op: Op; left: Condition; right: Condition; regex?: RegExp };

interface Tok {
  kind: 'str' | 'num' | 'word' | 'op' | '(' | ')' | '.' | 'end';
  text: string;
  at: number;
}

const OPERATORS = ['==', '!=', '>=', '<=', '>', '<'];

function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  const fail = (why: string): never => {
    throw new ConditionError(src, `${why} at column ${i + 1}`);
  };
  while (i < src.length) {
    const c = src[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '"' || c === "'") {
      // Both quotes: inside a spec string, `'high'` is easier to write than `\"high\"`.
      const start = i++;
      let text = '';
      while (i < src.length && src[i] !== c) {
        if (src[i] === '\\' && i + 1 < src.length) {
          const next = src[i + 1] as string;
          text += next === c || next === '\\' ? next : `\\${next}`;
          i += 2;
        } else text += src[i++];
      }
      if (i >= src.length) {
        i = start;
        fail('unterminated string');
      }
      i++;
      out.push({ kind: 'str', text, at: start });
      continue;
    }
    const op = OPERATORS.find((o) => src.startsWith(o, i));
    if (op !== undefined) {
      out.push({ kind: 'op', text: op, at: i });
      i += op.length;
      continue;
    }
    if (c === '(' || c === ')' || c === '.') {
      out.push({ kind: c, text: c, at: i++ });
      continue;
    }
    const num = /^-?\d+(\.\d+)?/.exec(src.slice(i));
    if (num !== null) {
      out.push({ kind: 'num', text: num[0], at: i });
      i += num[0].length;
      continue;
    }
    const word = /^[\p{L}_][\p{L}\p{N}_-]*/u.exec(src.slice(i));
    if (word !== null) {
      out.push({ kind: 'word', text: word[0], at: i });
      i += word[0].length;
      continue;
    }
    fail(c === '=' ? "unexpected '=' (did you mean '=='?)" : `unexpected character ${JSON.stringify(c)}`);
  }
  out.push({ kind: 'end', text: '', at: src.length });
  return out;
}

/** Parse a condition; throws ConditionError naming the column of the problem. */
export function parseCondition(src: string): Condition {
  const toks = tokenize(src);
  let p = 0;
  const peek = (): Tok => toks[p] as Tok;
  const isWord = (w: string): boolean => peek().kind === 'word' && peek().text === w;
  const fail = (why: string): never => {
    const t = peek();
    throw new ConditionError(src, `${why}, got ${t.kind === 'end' ? 'the end' : JSON.stringify(t.text)} at column ${t.at + 1}`);
  };

  const primary = (): Condition => {
    const t = peek();
    if (t.kind === '(') {
      p++;
      const inner = or();
      if (peek().kind !== ')') fail("expected ')'");
      p++;
      return inner;
    }
    if (t.kind === 'str') {
      p++;
      return { kind: 'literal', value: t.text };
    }
    if (t.kind === 'num') {
      p++;
      return { kind: 'literal', value: Number(t.text) };
    }
    if (t.kind === 'word') {
      p++;
      if (t.text === 'true' || t.text === 'false') return { kind: 'literal', value: t.text === 'true' };
      if (t.text === 'null') return { kind: 'literal', value: null };
      const names = [t.text];
      while (peek().kind === '.') {
        p++;
        const n = peek();
        if (n.kind !== 'word' && n.kind !== 'num') fail("expected a name after '.'");
        names.push(n.text);
        p++;
      }
      return { kind: 'path', names };
    }
    return fail('expected a value, a name or (');
  };

  const compare = (): Condition => {
    const left = primary();
    const t = peek();
    const op = t.kind === 'op' ? (t.text as Op) : t.kind === 'word' && (t.text === 'matches' || t.text === 'contains') ? t.text : undefined;
    if (op === undefined) return left;
    p++;
    const right = primary();
    if (op !== 'matches') return { kind: 'compare', op, left, right };
    // A literal pattern is compiled now, so a bad regex is found when the spec is checked.
    if (right.kind === 'literal' && typeof right.value === 'string') return { kind: 'compare', op, left, right, regex: compileRegex(src, right.value) };
    return { kind: 'compare', op, left, right };
  };

  const not = (): Condition => {
    if (isWord('not')) {
      p++;
      return { kind: 'not', operand: not() };
    }
    return compare();
  };

  const and = (): Condition => {
    let left = not();
    while (isWord('and')) {
      p++;
      left = { kind: 'and', left, right: not() };
    }
    return left;
  };

  const or = (): Condition => {
    let left = and();
    while (isWord('or')) {
      p++;
      left = { kind: 'or', left, right: and() };
    }
    return left;
  };

  if (peek().kind === 'end') throw new ConditionError(src, 'is empty');
  const c = or();
  if (peek().kind !== 'end') fail('expected and, or, or the end of the condition');
  return c;
}

function compileRegex(src: string, pattern: string): RegExp {
  try {
    return new RegExp(pattern);
  } catch (err) {
    throw new ConditionError(src, `invalid regular expression ${JSON.stringify(pattern)}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** The names a condition may use, each with its value. */
export type Scope = Readonly<Record<string, Value | undefined>>;

export function truthy(v: Value | undefined): boolean {
  if (v === undefined || v === null || v === false || v === '' || v === 0) return false;
  if (Array.isArray(v)) return v.length > 0;
  return true;
}

const asNumber = (v: Value | undefined): number | undefined =>
  typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : undefined;

function show(v: Value | undefined): string {
  return v === undefined ? 'nothing' : JSON.stringify(v);
}

/** Evaluate a parsed condition. A name not in `scope` is an error; a missing field is null. */
export function evaluateCondition(src: string, c: Condition, scope: Scope): boolean {
  return truthy(value(src, c, scope));
}

function value(src: string, c: Condition, scope: Scope): Value | undefined {
  switch (c.kind) {
    case 'literal':
      return c.value;
    case 'path': {
      const [root, ...rest] = c.names;
      if (root === undefined || !Object.hasOwn(scope, root)) {
        throw new ConditionError(src, `unknown name ${JSON.stringify(root ?? '')} (known: ${Object.keys(scope).sort().join(', ')})`);
      }
      let v: Value | undefined = scope[root];
      for (const n of rest) {
        if (v !== null && typeof v === 'object' && !Array.isArray(v)) v = Object.hasOwn(v, n) ? v[n] : null;
        else if (Array.isArray(v) && /^\d+$/.test(n)) v = v[Number(n)] ?? null;
        else v = null;
      }
      return v;
    }
    case 'not':
      return !truthy(value(src, c.operand, scope));
    case 'and':
      return truthy(value(src, c.left, scope)) && truthy(value(src, c.right, scope));
    case 'or':
      return truthy(value(src, c.left, scope)) || truthy(value(src, c.right, scope));
    case 'compare':
      return compareValues(src, c.op, value(src, c.left, scope), value(src, c.right, scope), c.regex);
  }
}

function compareValues(src: string, op: Op, l: Value | undefined, r: Value | undefined, regex?: RegExp): boolean {
  switch (op) {
    case '==':
    case '!=': {
      const ln = asNumber(l);
      const rn = asNumber(r);
      // `trigger.count == 3` holds for 3 and "3": JSON from a client is not always typed.
      const same = ln !== undefined && rn !== undefined && (typeof l === 'number' || typeof r === 'number') ? ln === rn : JSON.stringify(l ?? null) === JSON.stringify(r ?? null);
      return op === '==' ? same : !same;
    }
    case '>':
    case '>=':
    case '<':
    case '<=': {
      const ln = asNumber(l);
      const rn = asNumber(r);
      if (ln === undefined || rn === undefined) throw new ConditionError(src, `${op} needs two numbers, got ${show(l)} and ${show(r)}`);
      return op === '>' ? ln > rn : op === '>=' ? ln >= rn : op === '<' ? ln < rn : ln <= rn;
    }
    case 'matches': {
      if (typeof r !== 'string') throw new ConditionError(src, `matches needs a pattern string, got ${show(r)}`);
      if (l === null || l === undefined) return false;
      const text = typeof l === 'string' ? l : JSON.stringify(l);
      return (regex ?? compileRegex(src, r)).test(text);
    }
    case 'contains':
      if (typeof l === 'string') return typeof r === 'string' || typeof r === 'number' ? l.includes(String(r)) : false;
      if (Array.isArray(l)) return l.some((x) => JSON.stringify(x) === JSON.stringify(r ?? null));
      if (l === null || l === undefined) return false;
      throw new ConditionError(src, `contains needs a string or a list on its left, got ${show(l)}`);
  }
}

/** Every dotted name a condition reads (`[["trigger", "priority"], ["steps", "a", "output"]]`). */
export function conditionPaths(c: Condition): string[][] {
  switch (c.kind) {
    case 'literal':
      return [];
    case 'path':
      return [c.names];
    case 'not':
      return conditionPaths(c.operand);
    case 'and':
    case 'or':
    case 'compare':
      return [...conditionPaths(c.left), ...conditionPaths(c.right)];
  }
}
