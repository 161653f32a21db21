import type { Pos } from './ast.ts';

/**
 * Token kinds. Keywords all share the kind 'kw' (their text says which one); punctuation and
 * operators use their own text as kind.
 */
export type TokenKind =
  | 'eof'
  | 'newline'
  | 'string'
  | 'number'
  | 'ident'
  | 'kw'
  | '{'
  | '}'
  | '['
  | ']'
  | '('
  | ')'
  | ','
  | '.'
  | ':'
  | '=='
  | '!='
  | '>'
  | '>='
  | '<'
  | '<=';

export interface Token {
  kind: TokenKind;
  /** Literal text: the unescaped value for strings, "\n" for newlines, "" at EOF. */
  text: string;
  pos: Pos;
  /** Strings only: the contents between the quotes exactly as written (escapes not applied). */
  raw?: string;
}

/** The reserved words: 101 of them. Matching is exact and case-sensitive. */
export const KEYWORDS: readonly string[] = [
  // 1.x / 2.0 core
  'package', 'version', 'lang', 'prompt', 'skill', 'agent', 'binding', 'uses', 'model', 'input',
  'output', 'execution', 'description', 'content', 'default', 'adapter', 'secret', 'environment',
  'policy', 'plugin', 'server', 'client', 'connects', 'exposes', 'env', 'store', 'command',
  'require', 'deny', 'allow', 'to', 'true', 'false', 'required', 'import', 'transport', 'url',
  'auth', 'args', 'metadata',
  // 2.0
  'tool', 'deploy', 'target', 'pipeline', 'step', 'delegate', 'type', 'strategy', 'max_turns',
  'timeout', 'token_budget', 'temperature', 'stream', 'parallel', 'depends_on', 'from', 'when',
  'health', 'autoscale', 'resources', 'memory', 'on_error', 'max_retries', 'fallback', 'variables',
  'enum', 'list', 'mcp', 'http', 'inline', 'method', 'headers', 'body_template', 'binary',
  'language', 'code', 'port', 'namespace', 'replicas', 'image', 'secrets',
  // 3.0
  'as', 'if', 'else', 'for', 'each', 'in', 'config', 'validate', 'eval', 'rule', 'case', 'on',
  'use', 'with', 'respond', 'scoring', 'threshold', 'tags', 'query', 'loop',
];

export const KEYWORD_SET: ReadonlySet<string> = new Set(KEYWORDS);

/** Kinds the NAME reader accepts: strings, identifiers, keywords and (a quirk kept on purpose)
 * the `:` and comparison operator tokens, which sort after the keywords in the original's enum. */
const NAME_KINDS: ReadonlySet<TokenKind> = new Set<TokenKind>([
  'string', 'ident', 'kw', ':', '==', '!=', '>', '>=', '<', '<=',
]);

export function isNameToken(t: Token): boolean {
  return NAME_KINDS.has(t.kind);
}

export function isKw(t: Token, word: string): boolean {
  return t.kind === 'kw' && t.text === word;
}

/** How a token is shown in messages. */
export function describeToken(t: Token): string {
  switch (t.kind) {
    case 'eof':
      return 'end of file';
    case 'newline':
      return 'newline';
    case 'string':
      return `string ${JSON.stringify(t.text.length > 40 ? t.text.slice(0, 37) + '...' : t.text)}`;
    case 'number':
      return `number ${t.text}`;
    default:
      return `'${t.text}'`;
  }
}
