import { lex } from './lexer.ts';
import type { Token } from './tokens.ts';

/**
 * Quote a string so the lexer reads back exactly `value`.
 *
 * This follows Go's %q for the four escapes the language knows (`\\`, `\"`, `\n`, `\t`) and keeps
 * every other character as it is, printable or not: the lexer has no other escapes (`"\r"` reads
 * back as backslash + r), so writing `\r`, `\x01` or `\u00a0` the way %q does would change the
 * value. A raw control character inside quotes is read back unchanged.
 */
export function quote(value: string): string {
  return '"' + value.replace(/[\\"\n\t]/g, (ch) => ESCAPE[ch] ?? ch) + '"';
}

const ESCAPE: Readonly<Record<string, string>> = { '\\': '\\\\', '"': '\\"', '\n': '\\n', '\t': '\\t' };

// Names repeat a lot in a file (types, keys, skill names); lexing each once is enough.
const tokenCache = new Map<string, Token | undefined>();
const TOKEN_CACHE_LIMIT = 10_000;

/** The single token `text` lexes to, or undefined when it is not exactly one clean token. */
function singleToken(text: string): Token | undefined {
  if (tokenCache.has(text)) return tokenCache.get(text);
  const t = lexSingle(text);
  if (tokenCache.size >= TOKEN_CACHE_LIMIT) tokenCache.clear();
  tokenCache.set(text, t);
  return t;
}

function lexSingle(text: string): Token | undefined {
  if (text === '') return undefined;
  const r = lex(text, '<word>');
  if (r.diagnostics.length > 0 || r.comments.length > 0) return undefined;
  const real = r.tokens.filter((t) => t.kind !== 'eof');
  if (real.length !== 1) return undefined;
  const t = real[0];
  if (t === undefined || t.text !== text) return undefined;
  return t;
}

/** True when `text` is one identifier or keyword token as written (e.g. `web-search`, `model`). */
export function isWord(text: string): boolean {
  const t = singleToken(text);
  return t !== undefined && (t.kind === 'ident' || t.kind === 'kw');
}

/**
 * A value read by the NAME or ANY readers: printed bare when it is an identifier or keyword
 * (the reader takes its text as is), otherwise quoted (a string token gives back its text too).
 * `reserved` lists words that would be read as something else at that spot and must be quoted.
 */
export function word(text: string, reserved: readonly string[] = []): string {
  return isWord(text) && !reserved.includes(text) ? text : quote(text);
}

/**
 * A raw token text (policy rules) printed as written when it lexes back to one non-string token
 * with the same text; otherwise quoted, which keeps the text (`"a/b"` is one word "a/b").
 */
export function rawWord(text: string): string {
  const t = singleToken(text);
  return t !== undefined && t.kind !== 'string' && t.kind !== '}' && t.kind !== 'newline' ? text : quote(text);
}

/** True when the expression text can be printed bare and reads back as the same text. */
export function isBareExpression(text: string): boolean {
  const r = lex(text, '<expr>');
  if (r.diagnostics.length > 0 || r.comments.length > 0) return false;
  const first = r.tokens[0];
  return first === undefined || first.kind !== 'string';
}

/** An integer slot: the converted value (`007` becomes `7`), or the text when it is not safe. */
export function formatInt(value: number, text: string): string {
  return Number.isSafeInteger(value) ? String(value) : text;
}

/**
 * A float slot: the shortest form that reads back as the same float64, like Go's %g, but never
 * in exponent form (`1e-07` would lex as Number `1` + Ident `e-07`).
 */
export function formatFloat(value: number, text: string): string {
  if (!Number.isFinite(value)) return text;
  const s = String(value);
  if (!/e/i.test(s)) return s;
  return expandExponent(s);
}

/** `1.5e-7` -> `0.00000015`, `1e+21` -> `1000000000000000000000`. */
function expandExponent(s: string): string {
  const m = /^(-?)(\d+)(?:\.(\d+))?e([+-]\d+)$/i.exec(s);
  if (m === null) return s;
  const sign = m[1] ?? '';
  const intPart = m[2] ?? '';
  const frac = m[3] ?? '';
  const exp = Number(m[4]);
  const digits = intPart + frac;
  const point = intPart.length + exp;
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return sign + digits + '0'.repeat(point - digits.length);
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}
