import type { File, Header, Statement } from './ast.ts';
import type { Diagnostic } from './diagnostics.ts';
import { DuplicateNames } from './duplicates.ts';
import { lex } from './lexer.ts';
import { parseAgent } from './parse-agent.ts';
import {
  parseBinding,
  parseClient,
  parseDeploy,
  parseEnvironment,
  parseImport,
  parsePipeline,
  parsePlugin,
  parsePolicy,
  parseSecret,
  parseServer,
  parseType,
} from './parse-infra.ts';
import { parsePrompt, parseSkill } from './parse-skill.ts';
import { Cursor, DECLARATION_KEYWORDS } from './parser-core.ts';
import { closestWord } from './suggest.ts';

export interface ParseResult {
  file: File;
  diagnostics: Diagnostic[];
}

const STATEMENT_PARSERS: Readonly<Record<string, (c: Cursor) => Statement>> = {
  import: parseImport,
  plugin: parsePlugin,
  prompt: parsePrompt,
  skill: parseSkill,
  agent: parseAgent,
  secret: parseSecret,
  environment: parseEnvironment,
  policy: parsePolicy,
  binding: parseBinding,
  deploy: parseDeploy,
  server: parseServer,
  client: parseClient,
  pipeline: parsePipeline,
  type: parseType,
};

const TOP_LEVEL_HINT =
  'expected a declaration: import, plugin, prompt, skill, agent, secret, environment, policy, binding, deploy, server, client, pipeline or type';

/**
 * Parse one IntentLang source. Never throws and always terminates: every problem (lexer and
 * parser) becomes a diagnostic, and the AST holds whatever could be read.
 */
export function parse(source: string, file: string): ParseResult {
  const lexed = lex(source, file);
  const c = new Cursor(lexed.tokens, file);
  const result: File = { path: file, statements: [], comments: lexed.comments };

  c.skipNewlines();
  if (c.isKw('package')) {
    result.header = parseHeader(c);
  } else {
    c.errorHere("expected 'package' declaration at start of file", 'start the file with: package "name" version "0.1.0" lang "2.0"');
  }

  const names = new DuplicateNames();
  for (;;) {
    c.skipNewlines();
    if (c.atEnd()) break;
    const t = c.tok;
    const parser = t.kind === 'kw' ? STATEMENT_PARSERS[t.text] : undefined;
    if (parser === undefined) {
      unknownDeclaration(c);
      continue;
    }
    const stmt = parser(c);
    const duplicate = names.check(stmt, file);
    if (duplicate !== undefined) {
      c.diagnostics.push(duplicate);
      continue;
    }
    result.statements.push(stmt);
  }

  const diagnostics = [...lexed.diagnostics, ...c.diagnostics].sort(
    (a, b) => a.line - b.line || a.column - b.column,
  );
  return { file: result, diagnostics };
}

/**
 * One error for a statement that does not start with a declaration keyword, with one suggestion
 * when its first word is a typo of one; the statement (its line and a `{ ... }` body) is skipped.
 */
function unknownDeclaration(c: Cursor): void {
  const t = c.tok;
  const guess = t.kind === 'kw' || t.kind === 'ident' ? closestWord(t.text, DECLARATION_KEYWORDS) : undefined;
  if (guess !== undefined) c.error(t.pos, `unknown declaration '${t.text}'; did you mean \`${guess}\`?`);
  else c.unexpected(undefined, TOP_LEVEL_HINT);
  if (c.atStructural()) c.next();
  else c.skipLine();
}

function parseHeader(c: Cursor): Header {
  const pos = c.next().pos;
  const name = c.string('package name');
  const header: Header = { pos, endLine: pos.line, name: name.value, namePos: name.pos };
  for (;;) {
    if (c.isKw('version')) {
      header.version = c.strAttr('package version');
    } else if (c.isKw('lang')) {
      header.lang = c.strAttr('lang version');
      if (header.lang.value === '1.0') {
        c.error(
          header.lang.valuePos,
          'IntentLang 1.0 is no longer supported',
          "run 'agentspec migrate --to-v2' to upgrade this file",
        );
      }
    } else {
      break;
    }
  }
  header.endLine = c.prevLine;
  return header;
}
