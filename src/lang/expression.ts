/**
 * The one expression language of the spec: `validate` rules (`when EXPR`), `on input` statements
 * (`if`, `for each ... in`, `respond`, `use ... with { k: EXPR }`) and pipeline step conditions
 * (`when "..."`, see parseWhen): the forms the IntentLang lexer can produce (no arithmetic:
 * `+ * / &&` do not lex). It lives in lang/ because `validate` checks expressions at file:line and
 * the runtime evaluates them (evaluate.ts) from the IR's text; both parse here. docs/on-input.md
 * describes every form.
 */

export type ExprValue = string | number | boolean | null | ExprValue[] | { [key: string]: ExprValue };

export type CompareOp = '==' | '!=' | '<' | '<=' | '>' | '>=';
export type WordOp = 'matches' | 'contains' | 'startsWith' | 'endsWith' | 'in';
export type BinaryOp = CompareOp | WordOp;

/** `column` is 1-based in the expression's text, for messages. */
export type Expr =
  | { kind: 'literal'; value: ExprValue; column: number }
  | { kind: 'list'; items: Expr[]; column: number }
  | { kind: 'var'; name: string; column: number }
  | { kind: 'member'; object: Expr; name: string; column: number }
  | { kind: 'index'; object: Expr; index: Expr; column: number }
  | { kind: 'call'; fn: FunctionName; args: Expr[]; column: number }
  | { kind: 'not'; operand: Expr; column: number }
  | { kind: 'logical'; op: 'and' | 'or'; left: Expr; right: Expr; column: number }
  | { kind: 'binary'; op: BinaryOp; left: Expr; right: Expr; column: number; regex?: RegExp };

/** Functions and how many arguments each takes. */
export const FUNCTIONS = {
  len: 1,
  lower: 1,
  upper: 1,
  trim: 1,
  split: 2,
  isJSON: 1,
  fromJSON: 1,
  toJSON: 1,
  string: 1,
  number: 1,
} as const;
export type FunctionName = keyof typeof FUNCTIONS;

/** Names every expression may start from (loop variables are added in their body). */
export const ROOT_VARIABLES = ['input', 'output', 'steps', 'variables', 'config'] as const;

const WORD_OPS: ReadonlySet<string> = new Set<WordOp>(['matches', 'contains', 'startsWith', 'endsWith', 'in']);
const COMPARE_OPS: ReadonlySet<string> = new Set<CompareOp>(['==', '!=', '<', '<=', '>', '>=']);
/** Words that are never variable names. */
const RESERVED: ReadonlySet<string> = new Set(['true', 'false', 'null', 'and', 'or', 'not', ...WORD_OPS]);

/** The text does not parse as an expression; `column` points into it. */
export class ExpressionSyntaxError extends Error {
  /** The message without the position. */
  readonly reason: string;
  readonly column: number;

  constructor(reason: string, column: number) {
    super(`${reason} at column ${column}`);
    this.reason = reason;
    this.column = column;
  }
}

type TokKind = 'string' | 'number' | 'ident' | 'op' | 'punct' | 'eof';
interface Tok {
  kind: TokKind;
  text: string;
  /** The decoded value of a string token. */
  value?: string;
  column: number;
}

export interface ParseOptions {
  /**
   * Strings in the text are escaped (`\"`, `\\`, `\n`, `\t`), as in the AST's ExprSource. The
   * IR's text is not: there a string runs to the next `"`.
   */
  escaped?: boolean;
}

const IDENT_START = /[\p{L}_]/u;
const IDENT_PART = /[\p{L}\p{N}_-]/u;
const DIGIT = /[0-9]/;
const NUMBER = /^-?[0-9]+(\.[0-9]+)?$/;

function readString(text: string, start: number, escaped: boolean): { value: string; end: number } {
  // Both quotes: inside a spec string (a pipeline's `when "..."`), 'high' is easier to write than \"high\".
  const quote = text[start] ?? '"';
  let value = '';
  let i = start + 1;
  while (i < text.length) {
    const ch = text[i] ?? '';
    if (ch === quote) return { value, end: i + 1 };
    if (escaped && ch === '\\' && i + 1 < text.length) {
      const next = text[i + 1] ?? '';
      // As the IntentLang lexer: an unknown escape keeps both characters ("\d" is a regex class).
      value += next === 'n' ? '\n' : next === 't' ? '\t' : next === '\\' || next === quote ? next : `\\${next}`;
      i += 2;
      continue;
    }
    value += ch;
    i++;
  }
  throw new ExpressionSyntaxError('unterminated string', start + 1);
}

function tokenize(text: string, escaped: boolean): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i] ?? '';
    const column = i + 1;
    if (/\s/.test(ch)) {
      i++;
    } else if (ch === '"' || ch === "'") {
      const s = readString(text, i, escaped);
      toks.push({ kind: 'string', text: text.slice(i, s.end), value: s.value, column });
      i = s.end;
    } else if (DIGIT.test(ch) || (ch === '-' && DIGIT.test(text[i + 1] ?? ''))) {
      // After "." a number is a list position (`tags.1.name`), so it takes digits only.
      const afterDot = toks.at(-1)?.text === '.' && toks.at(-1)?.kind === 'punct';
      let j = i + 1;
      while (j < text.length && (afterDot ? DIGIT : /[0-9.-]/).test(text[j] ?? '')) j++;
      toks.push({ kind: 'number', text: text.slice(i, j), column });
      i = j;
    } else if (IDENT_START.test(ch)) {
      let j = i + 1;
      while (j < text.length && IDENT_PART.test(text[j] ?? '')) j++;
      toks.push({ kind: 'ident', text: text.slice(i, j), column });
      i = j;
    } else if ('=!<>'.includes(ch)) {
      const two = text.slice(i, i + 2);
      if (COMPARE_OPS.has(two)) {
        toks.push({ kind: 'op', text: two, column });
        i += 2;
      } else if (ch === '<' || ch === '>') {
        toks.push({ kind: 'op', text: ch, column });
        i++;
      } else {
        throw new ExpressionSyntaxError(`unexpected "${ch}" (comparisons are == != < <= > >=)`, column);
      }
    } else if ('()[],.'.includes(ch)) {
      toks.push({ kind: 'punct', text: ch, column });
      i++;
    } else {
      throw new ExpressionSyntaxError(`unexpected character "${ch}"`, column);
    }
  }
  toks.push({ kind: 'eof', text: '', column: text.length + 1 });
  return toks;
}

/** Nesting beyond this is refused: expressions are short, and recursion must stay bounded. */
const MAX_DEPTH = 64;

class Parser {
  private pos = 0;
  private depth = 0;

  constructor(private readonly toks: Tok[]) {}

  private get tok(): Tok {
    return this.toks[this.pos] ?? { kind: 'eof', text: '', column: 0 };
  }

  private next(): Tok {
    const t = this.tok;
    if (t.kind !== 'eof') this.pos++;
    return t;
  }

  private isWord(word: string): boolean {
    return this.tok.kind === 'ident' && this.tok.text === word;
  }

  private isPunct(p: string): boolean {
    return this.tok.kind === 'punct' && this.tok.text === p;
  }

  private expectPunct(p: string): void {
    if (!this.isPunct(p)) throw new ExpressionSyntaxError(`expected "${p}", got ${describe(this.tok)}`, this.tok.column);
    this.next();
  }

  private atEnd(): boolean {
    return this.tok.kind === 'eof';
  }

  parseAll(): Expr {
    if (this.atEnd()) throw new ExpressionSyntaxError('empty expression', 1);
    const e = this.or();
    if (!this.atEnd()) throw new ExpressionSyntaxError(`unexpected ${describe(this.tok)}`, this.tok.column);
    return e;
  }

  private nested<T>(f: () => T): T {
    if (++this.depth > MAX_DEPTH) throw new ExpressionSyntaxError(`nested more than ${MAX_DEPTH} levels deep`, this.tok.column);
    try {
      return f();
    } finally {
      this.depth--;
    }
  }

  private or(): Expr {
    let left = this.and();
    while (this.isWord('or')) {
      const column = this.next().column;
      left = { kind: 'logical', op: 'or', left, right: this.and(), column };
    }
    return left;
  }

  private and(): Expr {
    let left = this.not();
    while (this.isWord('and')) {
      const column = this.next().column;
      left = { kind: 'logical', op: 'and', left, right: this.not(), column };
    }
    return left;
  }

  private not(): Expr {
    if (this.isWord('not')) {
      const column = this.next().column;
      return this.nested(() => ({ kind: 'not', operand: this.not(), column }));
    }
    return this.comparison();
  }

  private comparison(): Expr {
    const left = this.postfix();
    const t = this.tok;
    const op = t.kind === 'op' ? t.text : t.kind === 'ident' && WORD_OPS.has(t.text) ? t.text : undefined;
    if (op === undefined) return left;
    this.next();
    const right = this.postfix();
    const node: Expr = { kind: 'binary', op: op as BinaryOp, left, right, column: t.column };
    if (op === 'matches') {
      // A pattern from data (the user's message) could be one that never finishes matching.
      if (right.kind !== 'literal' || typeof right.value !== 'string') throw new ExpressionSyntaxError('the pattern of "matches" must be a string literal', right.column);
      node.regex = compileRegex(right.value, right.column);
    }
    const after = this.tok;
    if (after.kind === 'op' || (after.kind === 'ident' && WORD_OPS.has(after.text))) {
      throw new ExpressionSyntaxError(`"${after.text}" cannot follow another comparison; use and/or and parentheses`, after.column);
    }
    return node;
  }

  private postfix(): Expr {
    let e = this.primary();
    for (;;) {
      if (this.isPunct('.')) {
        const column = this.next().column;
        const name = this.tok;
        if (name.kind === 'number' && /^[0-9]+$/.test(name.text)) {
          this.next();
          e = { kind: 'index', object: e, index: { kind: 'literal', value: Number(name.text), column: name.column }, column };
          continue;
        }
        if (name.kind !== 'ident') throw new ExpressionSyntaxError(`expected a field name or a list position after ".", got ${describe(name)}`, name.column);
        this.next();
        e = { kind: 'member', object: e, name: name.text, column };
      } else if (this.isPunct('[')) {
        const column = this.next().column;
        const index = this.nested(() => this.or());
        this.expectPunct(']');
        e = { kind: 'index', object: e, index, column };
      } else {
        return e;
      }
    }
  }

  private primary(): Expr {
    const t = this.tok;
    switch (t.kind) {
      case 'string':
        this.next();
        return { kind: 'literal', value: t.value ?? '', column: t.column };
      case 'number': {
        this.next();
        if (!NUMBER.test(t.text)) throw new ExpressionSyntaxError(`invalid number "${t.text}"`, t.column);
        return { kind: 'literal', value: Number(t.text), column: t.column };
      }
      case 'punct':
        if (t.text === '(') {
          this.next();
          const e = this.nested(() => this.or());
          this.expectPunct(')');
          return e;
        }
        if (t.text === '[') return this.list();
        break;
      case 'ident':
        return this.word();
      default:
        break;
    }
    throw new ExpressionSyntaxError(`unexpected ${describe(t)}`, t.column);
  }

  private list(): Expr {
    const column = this.next().column;
    const items: Expr[] = [];
    while (!this.isPunct(']')) {
      items.push(this.nested(() => this.or()));
      if (this.isPunct(',')) this.next();
      else if (!this.isPunct(']')) throw new ExpressionSyntaxError(`expected "," or "]", got ${describe(this.tok)}`, this.tok.column);
    }
    this.next();
    return { kind: 'list', items, column };
  }

  private word(): Expr {
    const t = this.next();
    if (t.text === 'true' || t.text === 'false') return { kind: 'literal', value: t.text === 'true', column: t.column };
    if (t.text === 'null') return { kind: 'literal', value: null, column: t.column };
    if (RESERVED.has(t.text)) throw new ExpressionSyntaxError(`"${t.text}" needs a value before it`, t.column);
    if (!this.isPunct('(')) return { kind: 'var', name: t.text, column: t.column };
    if (!Object.hasOwn(FUNCTIONS, t.text)) {
      throw new ExpressionSyntaxError(`unknown function "${t.text}" (known: ${Object.keys(FUNCTIONS).join(', ')})`, t.column);
    }
    const fn = t.text as FunctionName;
    this.next();
    const args: Expr[] = [];
    while (!this.isPunct(')')) {
      args.push(this.nested(() => this.or()));
      if (this.isPunct(',')) this.next();
      else if (!this.isPunct(')')) throw new ExpressionSyntaxError(`expected "," or ")", got ${describe(this.tok)}`, this.tok.column);
    }
    this.next();
    if (args.length !== FUNCTIONS[fn]) throw new ExpressionSyntaxError(`${fn}() takes ${FUNCTIONS[fn]} argument(s), got ${args.length}`, t.column);
    return { kind: 'call', fn, args, column: t.column };
  }
}

function describe(t: Tok): string {
  return t.kind === 'eof' ? 'end of expression' : `"${t.text}"`;
}

/** A `matches` pattern as a JavaScript regular expression (Unicode mode). */
export function compileRegex(pattern: string, column: number): RegExp {
  try {
    return new RegExp(pattern, 'u');
  } catch (err) {
    throw new ExpressionSyntaxError(`invalid regular expression "${pattern}": ${err instanceof Error ? err.message : String(err)}`, column);
  }
}

/** Parse one expression; throws ExpressionSyntaxError. */
export function parseExpression(text: string, opts: ParseOptions = {}): Expr {
  return new Parser(tokenize(text, opts.escaped === true)).parseAll();
}

/** Every variable an expression starts from, with its column (for "unknown variable" checks). */
export function rootVariables(e: Expr, out: Array<{ name: string; column: number }> = []): Array<{ name: string; column: number }> {
  switch (e.kind) {
    case 'literal':
      break;
    case 'var':
      out.push({ name: e.name, column: e.column });
      break;
    case 'list':
      for (const i of e.items) rootVariables(i, out);
      break;
    case 'member':
      rootVariables(e.object, out);
      break;
    case 'index':
      rootVariables(e.object, out);
      rootVariables(e.index, out);
      break;
    case 'call':
      for (const a of e.args) rootVariables(a, out);
      break;
    case 'not':
      rootVariables(e.operand, out);
      break;
    case 'logical':
    case 'binary':
      rootVariables(e.left, out);
      rootVariables(e.right, out);
      break;
  }
  return out;
}

/** The names a pipeline step's `when` reads (runtime/pipelines/run.ts gives them their values). */
export const WHEN_VARIABLES = ['trigger', 'input', 'steps'] as const;

/**
 * A pipeline step's `when`. It is the value of a spec string, whose own quotes are written
 * 'like this' or \"like this\"; backslashes inside them escape as in the spec.
 */
export function parseWhen(text: string): Expr {
  return parseExpression(text, { escaped: true });
}

/** Parse and check that every variable is one of `scope`; throws ExpressionSyntaxError. */
export function parseInScope(text: string, scope: ReadonlySet<string>, opts: ParseOptions = {}): Expr {
  const e = parseExpression(text, opts);
  for (const v of rootVariables(e)) {
    if (!scope.has(v.name)) throw new ExpressionSyntaxError(`unknown variable "${v.name}" (known: ${[...scope].join(', ')})`, v.column);
  }
  return e;
}

/** A piece of `respond` text: literal text, or a `{{ EXPR }}` placeholder. */
export type TemplatePart = { text: string } | { expr: Expr; source: string };

/**
 * What a `respond` holds. The IR cannot tell `respond "text"` from `respond text`, so: text that
 * parses as an expression over known variables is one (`respond input`, `respond steps.lookup`);
 * anything else is literal text in which `{{ EXPR }}` placeholders are evaluated.
 */
export type RespondForm = { expr: Expr } | { template: TemplatePart[] };

const PLACEHOLDER = /\{\{([\s\S]*?)\}\}/g;

export function parseRespond(text: string, scope: ReadonlySet<string>): RespondForm {
  try {
    return { expr: parseInScope(text, scope) };
  } catch (err) {
    if (!(err instanceof ExpressionSyntaxError)) throw err;
  }
  const parts: TemplatePart[] = [];
  let last = 0;
  for (const m of text.matchAll(PLACEHOLDER)) {
    const at = m.index;
    if (at > last) parts.push({ text: text.slice(last, at) });
    const source = (m[1] ?? '').trim();
    try {
      parts.push({ expr: parseInScope(source, scope), source });
    } catch (err) {
      if (err instanceof ExpressionSyntaxError) throw new ExpressionSyntaxError(`in placeholder {{ ${source} }}: ${err.reason}`, at + 1);
      throw err;
    }
    last = at + m[0].length;
  }
  if (last < text.length) parts.push({ text: text.slice(last) });
  return { template: parts };
}
