import type { ElseIf, ForEachStmt, IfStmt, OnInputStmt, UseParam, UseStmt } from './ast.ts';
import { type Cursor, skipBalanced } from './parser-core.ts';
import { isKw, type Token } from './tokens.ts';

const untilBrace = (t: Token): boolean => t.kind === '{';

/** Deeper if/for nesting is refused: no real spec gets near it, and recursion must stay bounded. */
export const MAX_NESTING = 64;

/** `"{" stmts "}"` of an `on input` body (also the bodies of if / else / for each). */
export function parseStmtBlock(c: Cursor): { body: OnInputStmt[]; endLine: number } {
  const body: OnInputStmt[] = [];
  if (c.depth >= MAX_NESTING) {
    c.skipNewlines();
    c.errorHere(`on input statements nested more than ${MAX_NESTING} levels deep`);
    skipBalanced(c);
    return { body, endLine: c.prevLine };
  }
  c.depth++;
  try {
    const endLine = c.block('on input', () => {
      const s = parseStmt(c);
      if (s === undefined) return false;
      body.push(s);
      return true;
    });
    return { body, endLine };
  } finally {
    c.depth--;
  }
}

function parseStmt(c: Cursor): OnInputStmt | undefined {
  if (c.isKw('use')) return parseUse(c);
  if (c.isKw('delegate')) {
    const pos = c.next().pos;
    const hasTo = c.isKw('to');
    if (hasTo) c.next();
    const agent = c.name('delegate agent');
    return { kind: 'delegate', pos, endLine: c.prevLine, hasTo, agent: agent.value, agentPos: agent.pos };
  }
  if (c.isKw('respond')) {
    const pos = c.next().pos;
    if (c.is('string')) {
      const t = c.next();
      return { kind: 'respond', pos, endLine: c.prevLine, expression: t.text, quoted: true };
    }
    const e = c.exprWithSource((t) => t.kind === 'newline' || t.kind === '}');
    return { kind: 'respond', pos, endLine: c.prevLine, expression: e.text, quoted: false, expressionSource: e.source };
  }
  if (c.isKw('if')) return parseIf(c);
  if (c.isKw('for')) return parseFor(c);
  return undefined;
}

function parseUse(c: Cursor): UseStmt {
  const pos = c.next().pos;
  const hasSkillKeyword = c.isKw('skill');
  if (hasSkillKeyword) c.next();
  const skill = c.name('skill name');
  const stmt: UseStmt = { kind: 'use', pos, endLine: pos.line, hasSkillKeyword, skill: skill.value, skillPos: skill.pos };
  if (c.isKw('with')) {
    const withPos = c.next().pos;
    const params: UseParam[] = [];
    c.skipNewlines();
    let endLine = c.prevLine;
    if (c.expect('{')) {
      for (;;) {
        c.skipNewlines();
        if (c.is('}')) {
          endLine = c.next().pos.line;
          break;
        }
        if (c.atEnd()) {
          c.errorHere("expected '}' to close with block, got end of file");
          break;
        }
        const key = c.name('parameter name');
        if (c.is(':')) c.next();
        else c.expect(':');
        const valuePos = c.tok.pos;
        const value = c.exprWithSource((t) => t.kind === ',' || t.kind === '}' || t.kind === 'newline');
        params.push({ pos: key.pos, key: key.value, value: value.text, valuePos, valueSource: value.source });
        if (c.is(',')) c.next();
      }
    }
    stmt.with = { pos: withPos, endLine, params };
  }
  stmt.endLine = c.prevLine;
  return stmt;
}

function parseIf(c: Cursor): IfStmt {
  const pos = c.next().pos;
  const conditionPos = c.tok.pos;
  const condition = c.exprWithSource(untilBrace);
  const then = parseStmtBlock(c);
  const stmt: IfStmt = {
    kind: 'if',
    pos,
    endLine: then.endLine,
    condition: condition.text,
    conditionSource: condition.source,
    conditionPos,
    body: then.body,
    elseIfs: [],
  };
  for (;;) {
    const mark = c.mark();
    c.skipNewlines();
    if (!c.isKw('else')) {
      c.reset(mark);
      return stmt;
    }
    const elsePos = c.next().pos;
    if (c.isKw('if')) {
      c.next();
      const cPos = c.tok.pos;
      const cond = c.exprWithSource(untilBrace);
      const b = parseStmtBlock(c);
      const elseIf: ElseIf = {
        pos: elsePos,
        condition: cond.text,
        conditionSource: cond.source,
        conditionPos: cPos,
        body: b.body,
        endLine: b.endLine,
      };
      stmt.elseIfs.push(elseIf);
      stmt.endLine = b.endLine;
      continue;
    }
    const b = parseStmtBlock(c);
    stmt.elsePos = elsePos;
    stmt.elseBody = b.body;
    stmt.endLine = b.endLine;
    return stmt;
  }
}

function parseFor(c: Cursor): ForEachStmt {
  const pos = c.next().pos;
  const hasEach = c.isKw('each');
  if (hasEach) c.next();
  const variable = c.name('loop variable');
  if (isKw(c.tok, 'in')) c.next();
  else c.errorHere("expected 'in' in for each loop");
  const collectionPos = c.tok.pos;
  const collection = c.exprWithSource(untilBrace);
  const b = parseStmtBlock(c);
  return {
    kind: 'for_each',
    pos,
    endLine: b.endLine,
    hasEach,
    variable: variable.value,
    variablePos: variable.pos,
    collection: collection.text,
    collectionSource: collection.source,
    collectionPos,
    body: b.body,
  };
}
