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
const ASCII_DIGIT = /^[0-9]$/;

function isLetter(ch: string): boolean {
  return ch === '_' || LETTER.test(ch);
}

function isIdentPart(ch: string): boolean {
  return ch === '_' || ch === '-' || LETTER.test(ch) || DIGIT.test(ch);
}

const PUNCT: Readonly<Record<string, TokenKind>> = {
  '{': '{', '}': '}', '[': '[', ']': ']', '(': '(', ')': ')', ',': ',', '.': '.', ':': ':',
};

const ESCAPES: Readonly<Record<string, string>> = { n: '\n', t: '\t', '\\': '\\', '"': '"' };

/**
 * Splits source into tokens (REFERENCE section 1). Never throws: a bad character is reported at
 * its own line:column and skipped, so one run reports every lexer error. The token list always
 * ends with an EOF token.
 */
export function lex(source: string, file: string): LexResult {
  const chars = Array.from(source);
  const tokens: Token[] = [];
  const comments: Comment[] = [];
  const diagnostics: Diagnostic[] = [];
  let i = 0;
  let line = 1;
  let column = 1;
  let lastCodeLine = 0;

  const push = (kind: TokenKind, text: string, pos: Pos): void => {
    tokens.push({ kind, text, pos });
    // Tokens are pushed once consumed, so `line` is the line the token ENDS on (a multi-line
    // string makes a comment after its closing quote a trailing one).
    if (kind !== 'newline') lastCodeLine = line;
  };
  const advance = (): string => {
    const ch = chars[i++] ?? '';
    if (ch === '\n') {
      line++;
      column = 1;
    } else {
      column++;
    }
    return ch;
  };
  const error = (pos: Pos, message: string, hint?: string): void => {
    diagnostics.push(diagnostic(file, pos.line, pos.column, message, hint));
  };

  while (i < chars.length) {
    const ch = chars[i] as string;
    const pos: Pos = { line, column };
    if (ch === ' ' || ch === '\t' || ch === '\r') {
      advance();
      continue;
    }
    if (ch === '\n') {
      push('newline', '\n', pos);
      advance();
      continue;
    }
    if (ch === '#' || (ch === '/' && chars[i + 1] === '/')) {
      let text = '';
      while (i < chars.length && chars[i] !== '\n') text += advance();
      comments.push({ pos, text: text.replace(/\r$/, ''), trailing: lastCodeLine === pos.line });
      continue;
    }
    if (ch === '"') {
      advance();
      let text = '';
      let raw = '';
      let closed = false;
      while (i < chars.length) {
        const c = advance();
        if (c === '"') {
          closed = true;
          break;
        }
        raw += c;
        if (c === '\\' && i < chars.length) {
          const e = advance();
          raw += e;
          text += ESCAPES[e] ?? '\\' + e;
          continue;
        }
        text += c;
      }
      if (!closed) {
        error(pos, 'unterminated string', 'close the string with a double quote (")');
      }
      push('string', text, pos);
      (tokens[tokens.length - 1] as Token).raw = raw;
      continue;
    }
    if (ASCII_DIGIT.test(ch) || (ch === '-' && ASCII_DIGIT.test(chars[i + 1] ?? ''))) {
      let text = advance();
      while (i < chars.length && (ASCII_DIGIT.test(chars[i] as string) || chars[i] === '.' || chars[i] === '-')) {
        text += advance();
      }
      push('number', text, pos);
      continue;
    }
    if (isLetter(ch)) {
      let text = advance();
      while (i < chars.length && isIdentPart(chars[i] as string)) text += advance();
      push(KEYWORD_SET.has(text) ? 'kw' : 'ident', text, pos);
      continue;
    }
    const punct = PUNCT[ch];
    if (punct !== undefined) {
      advance();
      push(punct, ch, pos);
      continue;
    }
    const next = chars[i + 1];
    if (ch === '=' || ch === '!' || ch === '<' || ch === '>') {
      advance();
      if (next === '=') {
        advance();
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
    advance();
    if (ch === '/') {
      error(pos, "unexpected character '/'", 'comments start with # or //');
    } else {
      error(pos, `unexpected character ${JSON.stringify(ch).replace(/^"|"$/g, "'")}`);
    }
  }
  tokens.push({ kind: 'eof', text: '', pos: { line, column } });
  return { tokens, comments, diagnostics };
}
