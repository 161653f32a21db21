import type { Attr, KvBlock, NumAttr, Pos } from './ast.ts';
import { diagnostic, type Diagnostic } from './diagnostics.ts';
import { closestWord } from './suggest.ts';
import { describeToken, isKw, isNameToken, type Token, type TokenKind } from './tokens.ts';

/** Keywords that start a top-level declaration; one at the start of a line inside a block means its `}` is missing. */
export const DECLARATION_KEYWORDS: readonly string[] = [
  'import', 'plugin', 'prompt', 'skill', 'agent', 'secret', 'environment', 'policy', 'binding', 'deploy', 'server', 'client', 'pipeline', 'type',
];

/** Go `strconv.Atoi` accepts an optional sign and decimal digits within int64. */
const INT_RE = /^[+-]?[0-9]+$/;
/** The float forms a Number token can take (digits, dots and dashes) that ParseFloat accepts. */
const FLOAT_RE = /^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$/;
const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;

export interface ReadValue<T> {
  value: T;
  pos: Pos;
}

/**
 * Token cursor plus the readers of REFERENCE section 1/2.0 (STRING, NAME, ANY, INT, FLOAT, BOOL,
 * kv, strlist, EXPR). Every reader makes progress or stops at a structural token (newline, `}`,
 * EOF), so block loops that skip unknown tokens one at a time always terminate.
 */
export class Cursor {
  readonly file: string;
  readonly diagnostics: Diagnostic[] = [];
  /** Nesting of recursive constructs (on input if/for bodies), bounded to keep the stack safe. */
  depth = 0;
  private readonly tokens: Token[];
  private index = 0;
  /**
   * While a block entry looks at its first token, the words it compared that token with: the
   * attributes the block accepts there, so an unknown one gets "did you mean".
   */
  private probed: Set<string> | undefined;
  /** Index of a declaration keyword already reported as ending an unclosed block (outer blocks stay quiet). */
  private unclosedAt = -1;

  constructor(tokens: Token[], file: string) {
    this.tokens = tokens;
    this.file = file;
  }

  get tok(): Token {
    return this.tokens[this.index] ?? (this.tokens[this.tokens.length - 1] as Token);
  }

  /** Current token index, to look ahead and come back with `reset`. */
  mark(): number {
    return this.index;
  }

  reset(mark: number): void {
    this.index = mark;
  }

  peekAt(offset: number): Token {
    return this.tokens[Math.min(this.index + offset, this.tokens.length - 1)] as Token;
  }

  /** The line of the previous token (the last one consumed). */
  get prevLine(): number {
    return (this.tokens[Math.max(0, this.index - 1)] as Token).pos.line;
  }

  next(): Token {
    const t = this.tok;
    if (t.kind !== 'eof') this.index++;
    return t;
  }

  is(kind: TokenKind): boolean {
    return this.tok.kind === kind;
  }

  isKw(word: string): boolean {
    this.probed?.add(word);
    return isKw(this.tok, word);
  }

  /** Identifier (not keyword) with this exact text, e.g. `max_messages`, `cpu`, `expect`. */
  isWord(word: string): boolean {
    this.probed?.add(word);
    return this.tok.kind === 'ident' && this.tok.text === word;
  }

  atEnd(): boolean {
    return this.tok.kind === 'eof';
  }

  /** A token a recovering reader must not swallow. */
  atStructural(): boolean {
    const k = this.tok.kind;
    return k === 'newline' || k === '}' || k === 'eof';
  }

  skipNewlines(): void {
    while (this.tok.kind === 'newline') this.index++;
  }

  error(pos: Pos, message: string, hint?: string): void {
    this.diagnostics.push(diagnostic(this.file, pos.line, pos.column, message, hint));
  }

  errorHere(message: string, hint?: string): void {
    this.error(this.tok.pos, message, hint);
  }

  unexpected(block: string | undefined, hint?: string): void {
    const where = block === undefined ? '' : ` in ${block} block`;
    this.errorHere(`unexpected token ${describeToken(this.tok)}${where}`, hint);
  }

  /** Consume a token of this kind or report `expected X, got Y` (without consuming). */
  expect(kind: TokenKind, shown = `'${kind}'`): boolean {
    if (this.tok.kind === kind) {
      this.index++;
      return true;
    }
    this.errorHere(`expected ${shown}, got ${describeToken(this.tok)}`);
    return false;
  }

  /** Consume a mismatching token unless it is structural (newline, `}`, EOF). */
  private skipBad(): void {
    if (!this.atStructural()) this.index++;
  }

  /** STRING reader. On a mismatch: error, and a non-structural token is consumed and its text used. */
  string(what: string): ReadValue<string> {
    const t = this.tok;
    if (t.kind === 'string') {
      this.index++;
      return { value: t.text, pos: t.pos };
    }
    this.errorHere(`expected string for ${what}, got ${describeToken(t)}`);
    this.skipBad();
    return { value: this.structuralText(t), pos: t.pos };
  }

  /** NAME reader: string, identifier, keyword (and, a kept quirk, `:`/comparison operators). */
  name(what: string): ReadValue<string> {
    const t = this.tok;
    if (isNameToken(t)) {
      this.index++;
      return { value: t.text, pos: t.pos };
    }
    this.errorHere(`expected string or identifier for ${what}, got ${describeToken(t)}`);
    this.skipBad();
    return { value: this.structuralText(t), pos: t.pos };
  }

  /**
   * ANY reader: the next token's literal text, whatever it is. A structural token (newline, `}`,
   * EOF) is reported as a missing `what` instead of being swallowed.
   */
  any(what: string): ReadValue<string> | undefined {
    const t = this.tok;
    if (this.atStructural()) {
      this.errorHere(`expected ${what}, got ${describeToken(t)}`);
      return undefined;
    }
    this.index++;
    return { value: t.text, pos: t.pos };
  }

  private structuralText(t: Token): string {
    return t.kind === 'newline' || t.kind === 'eof' || t.kind === '}' ? '' : t.text;
  }

  /** INT reader (Go Atoi semantics). Undefined when missing or invalid (an error is reported). */
  int(what: string): { value: number; text: string; pos: Pos } | undefined {
    return this.numberLiteral(what, 'integer', (text) => INT_RE.test(text) && BigInt(text) <= INT64_MAX && BigInt(text) >= INT64_MIN);
  }

  /** FLOAT reader (Go ParseFloat semantics on the forms a Number token can take). */
  float(what: string): { value: number; text: string; pos: Pos } | undefined {
    return this.numberLiteral(what, 'float', (text) => FLOAT_RE.test(text));
  }

  /** A Number token whose text `valid` accepts; a missing or invalid one is reported. */
  private numberLiteral(
    what: string,
    kind: 'integer' | 'float',
    valid: (text: string) => boolean,
  ): { value: number; text: string; pos: Pos } | undefined {
    const t = this.tok;
    if (t.kind !== 'number') {
      this.errorHere(`expected number for ${what}, got ${describeToken(t)}`);
      this.skipBad();
      return undefined;
    }
    this.index++;
    if (!valid(t.text)) {
      this.error(t.pos, `invalid ${kind} for ${what}: ${JSON.stringify(t.text)}`);
      return undefined;
    }
    return { value: Number(t.text), text: t.text, pos: t.pos };
  }

  bool(what: string): ReadValue<boolean> | undefined {
    const t = this.tok;
    if (isKw(t, 'true') || isKw(t, 'false')) {
      this.index++;
      return { value: t.text === 'true', pos: t.pos };
    }
    this.errorHere(`expected true/false for ${what}, got ${describeToken(t)}`);
    this.skipBad();
    return undefined;
  }

  // --- attribute helpers: keyword already at the cursor ------------------------------------

  /** `KEYWORD STRING` → Attr. */
  strAttr(what: string): Attr<string> {
    const pos = this.next().pos;
    const v = this.string(what);
    return { value: v.value, pos, valuePos: v.pos, afterPos: this.tok.pos };
  }

  /** `KEYWORD NAME` → Attr. */
  nameAttr(what: string): Attr<string> {
    const pos = this.next().pos;
    const v = this.name(what);
    return { value: v.value, pos, valuePos: v.pos, afterPos: this.tok.pos };
  }

  intAttr(what: string): NumAttr | undefined {
    const pos = this.next().pos;
    const v = this.int(what);
    return v === undefined ? undefined : { ...v, pos, valuePos: v.pos, afterPos: this.tok.pos };
  }

  floatAttr(what: string): NumAttr | undefined {
    const pos = this.next().pos;
    const v = this.float(what);
    return v === undefined ? undefined : { ...v, pos, valuePos: v.pos, afterPos: this.tok.pos };
  }

  boolAttr(what: string): Attr<boolean> | undefined {
    const pos = this.next().pos;
    const v = this.bool(what);
    return v === undefined ? undefined : { value: v.value, pos, valuePos: v.pos, afterPos: this.tok.pos };
  }

  /** `KEYWORD strlist` → Attr. */
  listAttr(what: string): Attr<string[]> {
    const pos = this.next().pos;
    const valuePos = this.tok.pos;
    const value = this.strlist(what);
    return { value, pos, valuePos, afterPos: this.tok.pos };
  }

  /**
   * strlist = "[" { STRING | "," } "]" | STRING. No newlines inside the brackets: a newline ends
   * the list with an error (so a missing `]` does not swallow the rest of the file).
   */
  strlist(what: string): string[] {
    if (this.tok.kind === 'string') return [this.next().text];
    if (this.tok.kind !== '[') {
      this.errorHere(`expected string or list for ${what}, got ${describeToken(this.tok)}`);
      this.skipBad();
      return [];
    }
    this.next();
    const out: string[] = [];
    for (;;) {
      const t = this.tok;
      if (t.kind === ']') {
        this.next();
        return out;
      }
      if (t.kind === ',') {
        this.next();
        continue;
      }
      if (t.kind === 'string') {
        out.push(this.next().text);
        continue;
      }
      if (t.kind === 'newline' || t.kind === 'eof') {
        this.errorHere(`expected ']' to close the list for ${what}, got ${describeToken(t)}`);
        return out;
      }
      this.errorHere(`expected string for ${what}, got ${describeToken(t)}`);
      this.next();
    }
  }

  /**
   * kv = "{" { ANY(key) NAME(value) } "}" with `{` on the same line. Without `{` nothing is
   * parsed and nothing is reported (as in the grammar). Returns undefined in that case.
   */
  kv(keywordPos: Pos, what: string, into?: KvBlock): KvBlock | undefined {
    if (this.tok.kind !== '{') return into;
    this.next();
    const block: KvBlock = into ?? { pos: keywordPos, endLine: keywordPos.line, entries: [] };
    for (;;) {
      this.skipNewlines();
      const t = this.tok;
      if (t.kind === '}') {
        block.endLine = this.next().pos.line;
        return block;
      }
      if (t.kind === 'eof') {
        this.errorHere(`expected '}' to close ${what}, got end of file`);
        block.endLine = t.pos.line;
        return block;
      }
      this.next();
      const v = this.name(`${what} value`);
      block.entries.push({ pos: t.pos, key: t.text, value: v.value, valuePos: v.pos });
    }
  }

  /**
   * EXPR: literal token texts up to (not including) a stop token, newlines skipped, strings
   * re-wrapped in quotes (not re-escaped), `.` glued to both neighbours, pieces joined by one
   * space (REFERENCE 2.6). Stops at EOF too.
   */
  expr(stop: (t: Token) => boolean): string {
    return this.exprWithSource(stop).text;
  }

  /**
   * EXPR as `text` (REFERENCE 2.6) and as `source`: the same rebuild with string tokens escaped,
   * so printing `source` and lexing it again gives the same tokens.
   */
  exprWithSource(stop: (t: Token) => boolean): { text: string; source: string } {
    const text = new ExprBuilder();
    const source = new ExprBuilder();
    for (;;) {
      const t = this.tok;
      if (t.kind === 'eof' || stop(t)) break;
      this.next();
      if (t.kind === 'newline') continue;
      if (t.kind === '.') {
        text.dot();
        source.dot();
      } else if (t.kind === 'string') {
        text.add(`"${t.text}"`);
        source.add(`"${t.raw === undefined ? escapeString(t.text) : oneLine(t.raw)}"`);
      } else {
        text.add(t.text);
        source.add(t.text);
      }
    }
    return { text: text.result(), source: source.result() };
  }

  /**
   * Generic `{ ... }` body: skips newlines before `{` (when allowed) and between entries, calls
   * `entry` for each token that is not `}`; `entry` returns false for a token it does not know,
   * which is then reported and skipped. Returns the line of the closing `}` (or of EOF). A
   * declaration keyword at the start of a line ends the block with one "missing `}`" error.
   */
  block(blockName: string, entry: () => boolean, opts: { sameLine?: boolean; hint?: string; attributes?: readonly string[] } = {}): number {
    if (opts.sameLine !== true) this.skipNewlines();
    const openLine = this.tok.pos.line;
    if (!this.expect('{')) return this.prevLine;
    for (;;) {
      this.skipNewlines();
      const t = this.tok;
      if (t.kind === '}') return this.next().pos.line;
      if (t.kind === 'eof') {
        if (this.unclosedAt !== this.index) this.errorHere(`expected '}' to close the ${blockName} block opened at line ${openLine}, got end of file`);
        this.unclosedAt = this.index;
        return t.pos.line;
      }
      if (this.startsDeclaration(t)) {
        // A declaration at the start of a line: this block's `}` is missing. Said once (not once per
        // enclosing block, nor once per token of the rest of the file); the declaration is parsed.
        if (this.unclosedAt !== this.index) {
          this.error(t.pos, `expected '}' to close the ${blockName} block opened at line ${openLine}, got '${t.text}'`, `add '}' before line ${t.pos.line}`);
        }
        this.unclosedAt = this.index;
        return this.prevLine;
      }
      const before = this.index;
      // Entries written as a switch name their attributes; the others are seen through isKw/isWord.
      const probed = new Set<string>(opts.attributes);
      this.probed = probed;
      let known: boolean;
      try {
        known = entry();
      } finally {
        this.probed = undefined;
      }
      if (this.index === before) {
        // Not an entry of this block (an entry that consumed nothing would loop forever too).
        this.unknownEntry(blockName, probed, opts.hint);
      } else if (!known) {
        this.unexpected(blockName, opts.hint);
        this.next();
      }
    }
  }

  private startsDeclaration(t: Token): boolean {
    return t.kind === 'kw' && t.pos.column === 1 && DECLARATION_KEYWORDS.includes(t.text);
  }

  /**
   * One error for a line a block does not understand, with "did you mean" when its first word is
   * close to an attribute the block accepts; the rest of the line (and a `{ ... }` it opens) is skipped.
   */
  private unknownEntry(blockName: string, probed: ReadonlySet<string>, hint?: string): void {
    const t = this.tok;
    const word = t.kind === 'kw' || t.kind === 'ident' ? t.text : undefined;
    const guess = word === undefined ? undefined : closestWord(word, probed);
    if (word !== undefined && guess !== undefined) {
      this.error(t.pos, `unknown attribute '${word}' in ${blockName} block; did you mean \`${guess}\`?`);
    } else {
      this.unexpected(blockName, hint);
    }
    this.skipLine();
  }

  /** Skip to the end of the line, over any balanced `{ ... }` on it. */
  skipLine(): void {
    while (!this.atStructural()) {
      if (this.is('{')) skipBalanced(this);
      else this.next();
    }
  }
}

export interface StmtName {
  name: string;
  namePos: Pos;
  nameEndPos: Pos;
}

/** `KEYWORD STRING` at the start of a named statement (keyword at the cursor). */
export function statementName(c: Cursor, what: string): { pos: Pos } & StmtName {
  const pos = c.next().pos;
  const v = c.string(`${what} name`);
  return { pos, name: v.value, namePos: v.pos, nameEndPos: c.tok.pos };
}

/** Skip a balanced `{ ... }` (used after an error so a stray body does not derail its parent). */
export function skipBalanced(c: Cursor): void {
  if (!c.is('{')) return;
  let depth = 0;
  do {
    const t = c.next();
    if (t.kind === '{') depth++;
    else if (t.kind === '}') depth--;
  } while (depth > 0 && !c.atEnd());
}

/** Pieces of an EXPR: `.` glues to the piece before it and the piece after it. */
class ExprBuilder {
  private readonly pieces: string[] = [];
  private glue = false;

  add(piece: string): void {
    if (this.glue && this.pieces.length > 0) this.pieces[this.pieces.length - 1] += piece;
    else this.pieces.push(piece);
    this.glue = false;
  }

  dot(): void {
    if (this.pieces.length === 0) this.pieces.push('.');
    else this.pieces[this.pieces.length - 1] += '.';
    this.glue = true;
  }

  result(): string {
    return this.pieces.join(' ').trim();
  }
}

/**
 * Escape string contents so the lexer reads them back unchanged. A backslash is doubled only
 * where the lexer would otherwise read an escape (before `n`, `t`, `\`, `"`, a newline, a tab or
 * at the end), so
 * regexes keep the form users write (`"\d{3}"`).
 */
export function escapeString(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '"') out += '\\"';
    else if (ch === '\\') {
      const next = text[i + 1];
      const escapes = next === undefined || next === 'n' || next === 't' || next === '\\' || next === '"';
      // A newline or tab is written as `\n` / `\t`, which a lone backslash before it would escape.
      out += escapes || next === '\n' || next === '\t' ? '\\\\' : '\\';
    } else out += ch;
  }
  return out;
}

/**
 * A string's contents as written, on one line: raw newlines and tabs become `\n` / `\t` (after a
 * lone escaping backslash they need one more backslash, since `\`+newline is kept as two chars).
 */
export function oneLine(raw: string): string {
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i] as string;
    if (ch === '\\' && i + 1 < raw.length) {
      const next = raw[i + 1] as string;
      out += next === '\n' ? '\\\\\\n' : next === '\t' ? '\\\\\\t' : '\\' + next;
      i++;
    } else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else out += ch;
  }
  return out;
}
