export type * from './ast.ts';
export { kvRecord, DUPLICATE_KIND_NAME } from './ast.ts';
export {
  diagnostic,
  diagnosticAt,
  diagnosticsToJson,
  formatDiagnostics,
  sortDiagnostics,
  type Diagnostic,
  type DiagnosticJson,
  type FormatOptions,
} from './diagnostics.ts';
export { lex, type LexResult } from './lexer.ts';
export { parse, type ParseResult } from './parser.ts';
export { listSpecFiles, loadSources, SPEC_EXTENSION, type LoadedRoot, type LoadOptions, type LoadResult } from './load.ts';
export { KEYWORDS, type Token, type TokenKind } from './tokens.ts';
export { format } from './format.ts';
export {
  ExpressionSyntaxError,
  FUNCTIONS,
  parseExpression,
  parseInScope,
  parseRespond,
  parseWhen,
  ROOT_VARIABLES,
  WHEN_VARIABLES,
  type Expr,
  type ExprValue,
  type RespondForm,
} from './expression.ts';
export { evaluate, evaluateCondition, EvalFailure, type Scope } from './evaluate.ts';
