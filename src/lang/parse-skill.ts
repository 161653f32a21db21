import type {
  CommandTool,
  Execution,
  Field,
  FieldBlock,
  HttpTool,
  InlineTool,
  ModField,
  PromptStmt,
  SkillStmt,
  Tool,
  VariablesBlock,
} from './ast.ts';
import { type Cursor, skipBalanced, statementName } from './parser-core.ts';
import { describeToken } from './tokens.ts';

/**
 * Entries `ANY(name) ANY(type) { required | default STRING }` (prompt variables, type fields).
 * The modifier loop ends at a newline, `}` or an unknown word, which then starts the next entry.
 * A missing type is an error (the parser does not take the next line's token as the type).
 */
export function modFieldEntry(c: Cursor, what: string, out: ModField[]): boolean {
  const nameTok = c.next();
  const field: ModField = { pos: nameTok.pos, name: nameTok.text, type: '', typePos: c.tok.pos, required: false };
  const ty = c.any(`type for ${what} ${JSON.stringify(nameTok.text)}`);
  if (ty !== undefined) field.type = ty.value;
  for (;;) {
    if (c.isKw('required')) {
      c.next();
      field.required = true;
    } else if (c.isKw('default')) {
      c.next();
      field.default = c.string(`default of ${what} ${JSON.stringify(nameTok.text)}`).value;
    } else {
      break;
    }
  }
  out.push(field);
  return true;
}

export function parsePrompt(c: Cursor): PromptStmt {
  const head = statementName(c, 'prompt');
  const stmt: PromptStmt = { kind: 'prompt', ...head, endLine: head.pos.line };
  stmt.endLine = c.block('prompt', () => {
    if (c.isKw('content')) stmt.content = c.strAttr('prompt content');
    else if (c.isKw('version')) stmt.version = c.strAttr('prompt version');
    else if (c.isKw('variables')) {
      const pos = c.next().pos;
      const block: VariablesBlock = stmt.variables ?? { pos, endLine: pos.line, entries: [] };
      block.endLine = c.block('variables', () => modFieldEntry(c, 'variable', block.entries));
      stmt.variables = block;
    } else if (c.isKw('metadata')) stmt.metadata = c.kv(c.next().pos, 'metadata', stmt.metadata);
    else return false;
    return true;
  });
  return stmt;
}

function fieldBlock(c: Cursor, what: 'input' | 'output'): FieldBlock {
  const pos = c.next().pos;
  const block: FieldBlock = { pos, endLine: pos.line, fields: [] };
  block.endLine = c.block(what, () => {
    const nameTok = c.next();
    const field: Field = { pos: nameTok.pos, name: nameTok.text, type: '', typePos: c.tok.pos, required: false };
    const ty = c.any(`type for ${what} field ${JSON.stringify(nameTok.text)}`);
    if (ty !== undefined) field.type = ty.value;
    if (c.isKw('required')) {
      c.next();
      field.required = true;
    }
    block.fields.push(field);
    return true;
  });
  return block;
}

function parseTool(c: Cursor): Tool {
  const pos = c.next().pos;
  const t = c.tok;
  const base = { pos, typePos: t.pos, typeWord: t.text, endLine: t.pos.line };
  if (c.isKw('mcp')) {
    c.next();
    const v = c.string('tool mcp reference');
    return { ...base, type: 'mcp', serverTool: { value: v.value, pos: t.pos, valuePos: v.pos, afterPos: c.tok.pos }, endLine: c.prevLine };
  }
  if (c.isKw('http')) {
    c.next();
    const tool: HttpTool = { ...base, type: 'http' };
    tool.endLine = c.block('tool http', () => {
      if (c.isKw('method')) tool.method = c.strAttr('tool http method');
      else if (c.isKw('url')) tool.url = c.strAttr('tool http url');
      else if (c.isKw('headers')) tool.headers = c.kv(c.next().pos, 'headers') ?? tool.headers;
      else if (c.isKw('body_template')) tool.bodyTemplate = c.strAttr('tool http body_template');
      else if (c.isKw('timeout')) tool.timeout = c.strAttr('tool http timeout');
      else return false;
      return true;
    });
    return tool;
  }
  if (c.isKw('command')) {
    c.next();
    const tool: CommandTool = { ...base, type: 'command' };
    tool.endLine = c.block('tool command', () => {
      if (c.isKw('binary')) tool.binary = c.strAttr('tool command binary');
      else if (c.isKw('args')) tool.args = c.listAttr('tool command args');
      else if (c.isKw('timeout')) tool.timeout = c.strAttr('tool command timeout');
      else if (c.isKw('env')) tool.env = c.kv(c.next().pos, 'env') ?? tool.env;
      else if (c.isKw('secrets')) tool.secrets = c.kv(c.next().pos, 'secrets') ?? tool.secrets;
      else return false;
      return true;
    });
    return tool;
  }
  if (c.isKw('inline')) {
    c.next();
    const tool: InlineTool = { ...base, type: 'inline' };
    tool.endLine = c.block('tool inline', () => {
      if (c.isKw('language')) tool.language = c.strAttr('tool inline language');
      else if (c.isKw('code')) tool.code = c.strAttr('tool inline code');
      else if (c.isKw('timeout')) tool.timeout = c.strAttr('tool inline timeout');
      else if (c.isKw('memory')) tool.memory = c.strAttr('tool inline memory');
      else return false;
      return true;
    });
    return tool;
  }
  c.errorHere(`expected tool type (mcp, http, command, inline), got ${describeToken(t)}`);
  if (!c.atStructural() && !c.is('{')) c.next();
  skipBalanced(c);
  return { ...base, type: '', typeWord: t.kind === 'newline' || t.kind === '}' ? '' : t.text, endLine: c.prevLine };
}

export function parseSkill(c: Cursor): SkillStmt {
  const head = statementName(c, 'skill');
  const stmt: SkillStmt = { kind: 'skill', ...head, endLine: head.pos.line };
  stmt.endLine = c.block('skill', () => {
    if (c.isKw('description')) stmt.description = c.strAttr('skill description');
    else if (c.isKw('input')) stmt.input = fieldBlock(c, 'input');
    else if (c.isKw('output')) stmt.output = fieldBlock(c, 'output');
    else if (c.isKw('tool')) stmt.tool = parseTool(c);
    else if (c.isKw('execution')) {
      const pos = c.next().pos;
      const kindPos = c.tok.pos;
      const kind = c.any('execution kind');
      const exec: Execution = { pos, kindWord: kind?.value ?? '', kindPos, value: '', valuePos: c.tok.pos };
      if (kind !== undefined) exec.value = c.string('execution value').value;
      stmt.execution = exec;
    } else if (c.isKw('metadata')) stmt.metadata = c.kv(c.next().pos, 'metadata', stmt.metadata);
    else return false;
    return true;
  });
  return stmt;
}
