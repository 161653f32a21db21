import type {
  AgentStmt,
  ConfigBlock,
  ConfigParam,
  Delegate,
  EvalBlock,
  EvalCase,
  MemoryBlock,
  OnInputBlock,
  ValidateBlock,
  ValidationRule,
} from './ast.ts';
import { type Cursor, skipBalanced, statementName } from './parser-core.ts';
import { parseStmtBlock } from './parse-oninput.ts';
import { describeToken, isKw, isNameToken } from './tokens.ts';

export function parseAgent(c: Cursor): AgentStmt {
  const head = statementName(c, 'agent');
  const a: AgentStmt = { kind: 'agent', ...head, endLine: head.pos.line, skills: [], delegates: [] };
  a.endLine = c.block('agent', () => agentEntry(c, a), { attributes: AGENT_ATTRIBUTES });
  return a;
}

/** The words `agentEntry` accepts first on a line (for "did you mean"). */
const AGENT_ATTRIBUTES = [
  'uses', 'prompt', 'model', 'connects', 'strategy', 'loop', 'max_turns', 'token_budget', 'max_retries', 'timeout',
  'on_error', 'fallback', 'temperature', 'stream', 'memory', 'delegate', 'metadata', 'config', 'validate', 'eval', 'on', 'max_messages', 'on_busy',
];

function agentEntry(c: Cursor, a: AgentStmt): boolean {
  const t = c.tok;
  if (t.kind !== 'kw' && !(t.kind === 'ident' && (t.text === 'max_messages' || t.text === 'on_busy'))) return false;
  switch (t.text) {
    case 'uses': {
      const pos = c.next().pos;
      if (c.isKw('prompt') || c.isKw('skill')) {
        const which = c.next().text;
        const v = c.string(`${which} reference`);
        const attr = { value: v.value, pos, valuePos: v.pos, afterPos: c.tok.pos };
        if (which === 'prompt') a.prompt = { ...attr, form: 'uses' };
        else a.skills.push(attr);
      } else {
        c.errorHere(`expected 'prompt' or 'skill' after 'uses', got ${describeToken(c.tok)}`);
        if (!c.atStructural()) c.next();
      }
      return true;
    }
    case 'prompt':
      a.prompt = { ...c.nameAttr('prompt reference'), form: 'shorthand' };
      return true;
    case 'model':
      a.model = c.strAttr('model');
      return true;
    case 'connects': {
      const pos = c.next().pos;
      if (c.isKw('to')) c.next();
      if (c.isKw('client')) c.next();
      const v = c.string('client reference');
      a.client = { value: v.value, pos, valuePos: v.pos, afterPos: c.tok.pos };
      return true;
    }
    case 'strategy':
    case 'loop':
      a.strategy = { ...c.strAttr(t.text), keyword: t.text };
      return true;
    case 'max_turns':
      a.maxTurns = c.intAttr('max_turns') ?? a.maxTurns;
      return true;
    case 'token_budget':
      a.tokenBudget = c.intAttr('token_budget') ?? a.tokenBudget;
      return true;
    case 'max_retries':
      a.maxRetries = c.intAttr('max_retries') ?? a.maxRetries;
      return true;
    case 'timeout':
      a.timeout = c.strAttr('timeout');
      return true;
    case 'on_error':
      a.onError = c.strAttr('on_error');
      return true;
    case 'fallback':
      a.fallback = c.strAttr('fallback');
      return true;
    case 'on_busy':
      a.onBusy = c.strAttr('on_busy');
      return true;
    case 'temperature':
      a.temperature = c.floatAttr('temperature') ?? a.temperature;
      return true;
    case 'stream':
      a.stream = c.boolAttr('stream') ?? a.stream;
      return true;
    case 'memory':
      a.memory = parseMemory(c);
      return true;
    case 'delegate':
      a.delegates.push(parseDelegate(c));
      return true;
    case 'metadata':
      a.metadata = c.kv(c.next().pos, 'metadata', a.metadata);
      return true;
    case 'config':
      a.config = parseConfig(c, a.config);
      return true;
    case 'validate':
      a.validate = parseValidate(c, a.validate);
      return true;
    case 'eval':
      a.eval = parseEval(c, a.eval);
      return true;
    case 'on':
      a.onInput = parseOnInput(c, a.onInput);
      return true;
    default:
      return false;
  }
}

function parseMemory(c: Cursor): MemoryBlock {
  const pos = c.next().pos;
  const m: MemoryBlock = { pos, endLine: pos.line };
  m.endLine = c.block('memory', () => {
    if (c.isKw('strategy')) m.strategy = c.strAttr('memory strategy');
    else if (c.isWord('max_messages')) m.maxMessages = c.intAttr('max_messages') ?? m.maxMessages;
    else return false;
    return true;
  });
  return m;
}

function parseDelegate(c: Cursor): Delegate {
  const pos = c.next().pos;
  const toPos = c.tok.pos;
  const hasTo = c.isKw('to');
  if (hasTo) c.next();
  const hasAgentKeyword = c.isKw('agent');
  if (hasAgentKeyword) c.next();
  const v = c.string('delegate agent');
  const d: Delegate = { pos, toPos, hasTo, hasAgentKeyword, agent: v.value, agentPos: v.pos, agentEndPos: c.tok.pos };
  if (c.isKw('when')) d.when = c.strAttr('delegate condition');
  return d;
}

function parseConfig(c: Cursor, prev: ConfigBlock | undefined): ConfigBlock {
  const pos = c.next().pos;
  const block: ConfigBlock = prev ?? { pos, endLine: pos.line, params: [] };
  block.endLine = c.block('config', () => {
    const name = c.name('config parameter name');
    const p: ConfigParam = {
      pos: name.pos,
      name: name.value,
      type: '',
      typePos: c.tok.pos,
      required: false,
      secret: false,
      hasDefault: false,
    };
    if (c.atStructural()) {
      c.errorHere(`expected type for config parameter ${JSON.stringify(name.value)}, got ${describeToken(c.tok)}`);
    } else {
      p.type = c.name(`type of config parameter ${JSON.stringify(name.value)}`).value;
    }
    for (;;) {
      if (c.isKw('required')) {
        c.next();
        p.required = true;
      } else if (c.isKw('secret')) {
        c.next();
        p.secret = true;
      } else if (c.isKw('default')) {
        c.next();
        const t = c.tok;
        p.hasDefault = true;
        if (t.kind === 'string') p.defaultToken = 'string';
        else if (t.kind === 'number') p.defaultToken = 'number';
        else if (isKw(t, 'true') || isKw(t, 'false')) p.defaultToken = 'bool';
        else if (isNameToken(t)) p.defaultToken = 'name';
        if (p.defaultToken === undefined) {
          c.errorHere(`expected default value for config parameter ${JSON.stringify(name.value)}, got ${describeToken(t)}`);
          p.hasDefault = false;
        } else {
          p.default = c.next().text;
        }
      } else {
        break;
      }
    }
    // The description string may sit on the following line(s).
    const mark = c.mark();
    c.skipNewlines();
    if (c.is('string')) {
      const descPos = c.tok.pos;
      const d = c.next();
      p.description = { value: d.text, pos: descPos, valuePos: descPos, afterPos: c.tok.pos };
    } else {
      c.reset(mark);
    }
    block.params.push(p);
    return true;
  });
  return block;
}

function parseValidate(c: Cursor, prev: ValidateBlock | undefined): ValidateBlock {
  const pos = c.next().pos;
  const block: ValidateBlock = prev ?? { pos, endLine: pos.line, rules: [] };
  block.endLine = c.block(
    'validate',
    () => {
      if (!c.isKw('rule')) return false;
      const rulePos = c.next().pos;
      const name = c.name('rule name');
      const severity = c.name('rule severity');
      const r: ValidationRule = {
        pos: rulePos,
        name: name.value,
        namePos: name.pos,
        severity: severity.value,
        severityPos: severity.pos,
        endLine: c.prevLine,
      };
      if (c.isKw('max_retries')) r.maxRetries = c.intAttr('rule max_retries');
      let mark = c.mark();
      c.skipNewlines();
      if (c.is('string')) {
        const mPos = c.tok.pos;
        const m = c.next();
        r.message = { value: m.text, pos: mPos, valuePos: mPos, afterPos: c.tok.pos };
        mark = c.mark();
        c.skipNewlines();
      }
      if (c.isKw('when')) {
        const wPos = c.next().pos;
        const valuePos = c.tok.pos;
        const expr = c.exprWithSource((t) => isKw(t, 'rule') || t.kind === '}');
        r.when = { value: expr.text, pos: wPos, valuePos, afterPos: c.tok.pos };
        r.whenSource = expr.source;
      } else {
        c.reset(mark);
      }
      r.endLine = c.prevLine;
      block.rules.push(r);
      return true;
    },
    { hint: "expected 'rule'" },
  );
  return block;
}

function parseEval(c: Cursor, prev: EvalBlock | undefined): EvalBlock {
  const pos = c.next().pos;
  const block: EvalBlock = prev ?? { pos, endLine: pos.line, cases: [] };
  block.endLine = c.block(
    'eval',
    () => {
      if (!c.isKw('case')) return false;
      const casePos = c.next().pos;
      const name = c.name('eval case name');
      const ec: EvalCase = { pos: casePos, name: name.value, namePos: name.pos, endLine: c.prevLine };
      for (;;) {
        c.skipNewlines();
        if (c.isKw('case') || c.is('}') || c.atEnd()) break;
        if (c.isKw('input')) ec.input = c.strAttr('eval case input');
        else if (c.isWord('expect')) ec.expect = c.strAttr('eval case expect');
        else if (c.isKw('scoring')) {
          ec.scoring = c.nameAttr('eval case scoring');
          if (c.isKw('threshold')) ec.threshold = c.floatAttr('eval case threshold') ?? ec.threshold;
        } else if (c.isKw('tags')) ec.tags = c.listAttr('eval case tags');
        else {
          c.unexpected('eval case');
          c.next();
        }
        ec.endLine = c.prevLine;
      }
      block.cases.push(ec);
      return true;
    },
    { hint: "expected 'case'" },
  );
  return block;
}

function parseOnInput(c: Cursor, prev: OnInputBlock | undefined): OnInputBlock | undefined {
  const pos = c.next().pos;
  if (!c.isKw('input')) {
    c.errorHere(`expected 'input' after 'on', got ${describeToken(c.tok)}`);
    if (!c.atStructural() && !c.is('{')) c.next();
    skipBalanced(c);
    return prev;
  }
  c.next();
  const { body, endLine } = parseStmtBlock(c);
  if (prev === undefined) return { pos, endLine, body };
  prev.body.push(...body);
  prev.endLine = endLine;
  return prev;
}
