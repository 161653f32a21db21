import type { Comment, Pos } from './ast.ts';
import { diagnostic, type Diagnostic } from './diagnostics.ts';
import { KEYWORD_SET, type Token, type TokenKind } from './tokens.ts';

export interface LexResult {
  tokens: Token[];
  comments: Comment[];
  diagnostics: Diagnostic[];
}

const LETTER = /^\p{L}$/u;
const DIGIT = /^\p{Nd}$/u;

const C_TAB = 9;
const C_NL = 10;
const C_CR = 13;
const C_SPACE = 32;
const C_QUOTE = 34;
const C_HASH = 35;
const C_DASH = 45;
const C_DOT = 46;
const C_SLASH = 47;
const C_0 = 48;
const C_9 = 57;
const C_UNDERSCORE = 95;
const C_BACKSLASH = 92;

function isAsciiDigit(c: number): boolean {
  return c >= C_0 && c <= C_9;
}

function isAsciiLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/** First character of an identifier: a Unicode letter or `_`. */
function isIdentStart(cp: number): boolean {
  if (cp < 128) return isAsciiLetter(cp) || cp === C_UNDERSCORE;
  return LETTER.test(String.fromCodePoint(cp));
}

/** Later characters: letters, Unicode digits, `_` and `-`. */
function isIdentPart(cp: number): boolean {
  if (cp < 128) return isAsciiLetter(cp) || isAsciiDigit(cp) || cp === C_UNDERSCORE || cp === C_DASH;
  const ch = String.fromCodePoint(cp);
  return LETTER.test(ch) || DIGIT.test(ch);
}

const PUNCT: Readonly<Record<string, TokenKind>> = {
  '{': '{', '}': '}', '[': '[', ']': ']', '(': '(', ')': ')', ',': ',', '.': '.', ':': ':',
};

const ESCAPES: Readonly<Record<string, string>> = { n: '\n', t: '\t', '\\': '\\', '"': '"' };

/**
 * Splits source into tokens (REFERENCE section 1). Never throws: a bad character is reported at
 * its own line:column and skipped, so one run reports every lexer error. The token list always
 * ends with an EOF token. Columns count code points (runes), not UTF-16 units.
 */
export function lex(source: string, file: string): LexResult {
  const src = source;
  const n = src.length;
  const tokens: Token[] = [];
  const comments: Comment[] = [];
  const diagnostics: Diagnostic[] = [];
  let i = 0;
  let line = 1;
  let column = 1;
  let lastCodeLine = 0;

  const push = (kind: TokenKind, text: string, pos: Pos, raw?: string): void => {
    const t: Token = { kind, text, pos };
    if (raw !== undefined) t.raw = raw;
    tokens.push(t);
    // Tokens are pushed once consumed, so `line` is the line the token ENDS on (a multi-line
    // string makes a comment after its closing quote a trailing one).
    if (kind !== 'newline') lastCodeLine = line;
  };
  /** Move to index `j`, keeping line and column right over whatever lies between. */
  const moveTo = (j: number): void => {
    for (let k = i; k < j; k++) {
      const c = src.charCodeAt(k);
      if (c === C_NL) {
        line++;
        column = 1;
      } else if ((c & 0xfc00) !== 0xdc00) {
        // A low surrogate belongs to the rune its high surrogate already counted.
        column++;
      }
    }
    i = j;
  };
  const error = (pos: Pos, message: string, hint?: string): void => {
    diagnostics.push(diagnostic(file, pos.line, pos.column, message, hint));
  };

  while (i < n) {
    const c = src.charCodeAt(i);
    if (c === C_SPACE || c === C_TAB || c === C_CR) {
      i++;
      column++;
      continue;
    }
    const pos: Pos = { line, column };
    if (c === C_NL) {
      push('newline', '\n', pos);
      i++;
      line++;
      column = 1;
      continue;
    }
    if (c === C_HASH || (c === C_SLASH && src.charCodeAt(i + 1) === C_SLASH)) {
      let end = src.indexOf('\n', i);
      if (end < 0) end = n;
      const text = src.slice(i, end);
      moveTo(end);
      comments.push({ pos, text: text.replace(/\r$/, ''), trailing: lastCodeLine === pos.line });
      continue;
    }
    if (c === C_QUOTE) {
      let text = '';
      let k = i + 1;
      let seg = k;
      let closed = false;
      while (k < n) {
        const ch = src.charCodeAt(k);
        if (ch === C_QUOTE) {
          closed = true;
          break;
        }
        if (ch === C_BACKSLASH && k + 1 < n) {
          text += src.slice(seg, k);
          const cp = src.codePointAt(k + 1) as number;
          const e = String.fromCodePoint(cp);
          text += ESCAPES[e] ?? '\\' + e;
          k += 1 + e.length;
          seg = k;
          continue;
        }
        k++;
      }
      const end = Math.min(k, n);
      text += src.slice(seg, end);
      const raw = src.slice(i + 1, end);
      moveTo(closed ? end + 1 : end);
      if (!closed) error(pos, 'unterminated string', 'close the string with a double quote (")');
      push('string', text, pos, raw);
      continue;
    }
    if (isAsciiDigit(c) || (c === C_DASH && isAsciiDigit(src.charCodeAt(i + 1)))) {
      let k = i + 1;
      for (;;) {
        const d = src.charCodeAt(k);
        if (!(isAsciiDigit(d) || d === C_DOT || d === C_DASH)) break;
        k++;
      }
      const text = src.slice(i, k);
      column += k - i;
      i = k;
      push('number', text, pos);
      continue;
    }
    const cp = src.codePointAt(i) as number;
    if (isIdentStart(cp)) {
      let k = i + (cp > 0xffff ? 2 : 1);
      let runes = 1;
      while (k < n) {
        const q = src.codePointAt(k) as number;
        if (!isIdentPart(q)) break;
        k += q > 0xffff ? 2 : 1;
        runes++;
      }
      const text = src.slice(i, k);
      column += runes;
      i = k;
      push(KEYWORD_SET.has(text) ? 'kw' : 'ident', text, pos);
      continue;
    }
    const ch = String.fromCodePoint(cp);
    const punct = PUNCT[ch];
    if (punct !== undefined) {
      i++;
      column++;
      push(punct, ch, pos);
      continue;
    }
    if (ch === '=' || ch === '!' || ch === '<' || ch === '>') {
      i++;
      column++;
      if (src[i] === '=') {
        i++;
        column++;
        push((ch + '=') as TokenKind, ch + '=', pos);
      } else if (ch === '<' || ch === '>') {
        push(ch, ch, pos);
      } else if (ch === '=') {
        error(pos, "unexpected character '='", "did you mean '=='?");
      } else {
        error(pos, "unexpected character '!'", "did you mean '!='?");
      }
      continue;
    }
    i += ch.length;
    column++;
    if (ch === '/') {
      error(pos, "unexpected character '/'", 'comments start with # or //');
    } else {
      error(pos, `unexpected character ${JSON.stringify(ch).replace(/^"|"$/g, "'")}`);
    }
  }
  tokens.push({ kind: 'eof', text: '', pos: { line, column } });
  return { tokens, comments, diagnostics };
}
