import type {
  AgentStmt,
  Attr,
  BindingStmt,
  ClientStmt,
  ConfigBlock,
  ConfigParam,
  DeployStmt,
  EnvironmentStmt,
  EnvTarget,
  EvalCase,
  Field,
  FieldBlock,
  File,
  Header,
  KvBlock,
  KvEntry,
  ModField,
  NumAttr,
  OnInputStmt,
  PipelineStmt,
  PolicyStmt,
  PromptStmt,
  SecretStmt,
  ServerStmt,
  SkillStmt,
  Statement,
  Tool,
  TypeStmt,
  ValidationRule,
} from './ast.ts';
import { block, leaf, line, placeComments, render, segment, type DocLine, type Item, type Segment } from './format-doc.ts';
import { formatFloat, formatInt, isBareExpression, isWord, quote, rawWord, word } from './format-words.ts';

/**
 * The canonical text of a parsed file (REFERENCE section 7): the header line, then every statement
 * in source order after one empty line, two-space indentation, a fixed attribute order per block,
 * sorted map keys. Comments stay beside what they were written next to. What is printed parses
 * back to the same tree (positions and spelling variants such as `loop`/`strategy` aside), so
 * formatting never changes the lowered resources, and formatting twice gives the same text.
 */
export function format(file: File): string {
  const header = file.header === undefined ? undefined : headerItem(file.header);
  const statements = file.statements.map(statementItem);
  const tail = placeComments(header === undefined ? statements : [header, ...statements], file.comments);
  const out: string[] = [];
  if (header !== undefined) render([header], '', out);
  for (const st of statements) {
    if (out.length > 0) out.push('');
    render([st], '', out);
  }
  if (tail.length > 0) {
    if (out.length > 0) out.push('');
    out.push(...tail);
  }
  return out.length === 0 ? '' : out.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------
// small builders

type Maybe<T> = T | undefined | false;

function present<T>(items: Maybe<T>[]): T[] {
  return items.filter((x): x is T => x !== undefined && x !== false);
}

function newlines(s: string): number {
  let n = 0;
  for (const ch of s) if (ch === '\n') n++;
  return n;
}

/** Last source line of an attribute: a string value may span lines (raw newlines). */
function attrEnd(a: Attr<unknown>): number {
  if (typeof a.value !== 'string') return a.valuePos.line;
  return Math.max(a.valuePos.line, Math.min(a.afterPos.line, a.valuePos.line + newlines(a.value)));
}

function attrLeaf(text: string, a: Attr<unknown>): Item {
  return leaf([line(text, a.pos.line)], attrEnd(a));
}

function str(keyword: string, a: Attr<string> | undefined): Item | undefined {
  return a === undefined ? undefined : attrLeaf(`${keyword} ${quote(a.value)}`, a);
}

function int(keyword: string, a: NumAttr | undefined): Item | undefined {
  return a === undefined ? undefined : attrLeaf(`${keyword} ${formatInt(a.value, a.text)}`, a);
}

function float(keyword: string, a: NumAttr | undefined): Item | undefined {
  return a === undefined ? undefined : attrLeaf(`${keyword} ${formatFloat(a.value, a.text)}`, a);
}

function bool(keyword: string, a: Attr<boolean> | undefined): Item | undefined {
  return a === undefined ? undefined : attrLeaf(`${keyword} ${a.value ? 'true' : 'false'}`, a);
}

function strList(values: readonly string[]): string {
  return `[${values.map(quote).join(', ')}]`;
}

function list(keyword: string, a: Attr<string[]> | undefined): Item | undefined {
  return a === undefined ? undefined : attrLeaf(`${keyword} ${strList(a.value)}`, a);
}

/** Go sorts map keys by bytes; UTF-16 order differs above the BMP, so compare the UTF-8 bytes. */
export function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** The entry that wins for each key (the last one written), sorted by key. */
function winners<E extends { key: string }>(entries: readonly E[]): E[] {
  const last = new Map<string, E>();
  for (const e of entries) last.set(e.key, e);
  return [...last.values()].sort((x, y) => byteOrder(x.key, y.key));
}

function kvEntryItem(e: KvEntry, reserved: readonly string[]): Item {
  return leaf([line(`${word(e.key, reserved)} ${quote(e.value)}`, e.pos.line)], e.valuePos.line);
}

function kvBlock(keyword: string, b: KvBlock | undefined): Item | undefined {
  if (b === undefined) return undefined;
  return block(line(`${keyword} {`, b.pos.line), winners(b.entries).map((e) => kvEntryItem(e, [])), b.endLine);
}

// ---------------------------------------------------------------------------------------------
// header and statements

function headerItem(h: Header): Item {
  const parts = [`package ${quote(h.name)}`];
  if (h.version !== undefined) parts.push(`version ${quote(h.version.value)}`);
  if (h.lang !== undefined) parts.push(`lang ${quote(h.lang.value)}`);
  return leaf([line(parts.join(' '), h.pos.line)], h.endLine);
}

function statementItem(st: Statement): Item {
  switch (st.kind) {
    case 'import': {
      let text = `import ${quote(st.path)}`;
      if (st.version !== undefined) text += ` version ${quote(st.version.value)}`;
      if (st.alias !== undefined) text += ` as ${word(st.alias.value)}`;
      return leaf([line(text, st.pos.line)], st.endLine);
    }
    case 'plugin': {
      let text = `plugin ${quote(st.name)}`;
      if (st.version !== undefined) text += ` version ${quote(st.version.value)}`;
      return leaf([line(text, st.pos.line)], st.endLine);
    }
    case 'prompt':
      return promptItem(st);
    case 'skill':
      return skillItem(st);
    case 'agent':
      return agentItem(st);
    case 'secret':
      return secretItem(st);
    case 'environment':
      return environmentItem(st);
    case 'policy':
      return policyItem(st);
    case 'binding':
      return bindingItem(st);
    case 'deploy':
      return deployItem(st);
    case 'server':
      return serverItem(st);
    case 'client':
      return clientItem(st);
    case 'pipeline':
      return pipelineItem(st);
    case 'type':
      return typeItem(st);
  }
}

function named(keyword: string, st: { name: string; pos: { line: number }; endLine: number }, body: Maybe<Item>[]): Item {
  return block(line(`${keyword} ${quote(st.name)} {`, st.pos.line), present(body), st.endLine);
}

/** `name type [required] [default "x"]` of variables and type fields (one entry per line). */
function modFieldItem(f: ModField): Item {
  let text = `${word(f.name)} ${word(f.type)}`;
  if (f.required) text += ' required';
  if (f.default !== undefined) text += ` default ${quote(f.default)}`;
  return leaf([line(text, f.pos.line)], f.typePos.line);
}

function promptItem(st: PromptStmt): Item {
  const vars = st.variables;
  return named('prompt', st, [
    str('content', st.content),
    str('version', st.version),
    vars !== undefined && block(line('variables {', vars.pos.line), vars.entries.map(modFieldItem), vars.endLine),
    kvBlock('metadata', st.metadata),
  ]);
}

// ---------------------------------------------------------------------------------------------
// skill

function fieldItem(f: Field): Item {
  // Field blocks ignore newlines, so a field named `required` would be read as the modifier.
  const text = `${word(f.name, ['required'])} ${word(f.type)}${f.required ? ' required' : ''}`;
  return leaf([line(text, f.pos.line)], f.typePos.line);
}

function fieldBlock(keyword: string, b: FieldBlock | undefined): Item | undefined {
  if (b === undefined) return undefined;
  return block(line(`${keyword} {`, b.pos.line), b.fields.map(fieldItem), b.endLine);
}

function toolItem(t: Tool): Item {
  const open = (kind: string): DocLine => line(`tool ${kind} {`, t.pos.line);
  switch (t.type) {
    case 'mcp':
      return leaf([line(`tool mcp ${quote(t.serverTool.value)}`, t.pos.line)], attrEnd(t.serverTool));
    case 'http':
      return block(
        open('http'),
        present([str('method', t.method), str('url', t.url), kvBlock('headers', t.headers), str('body_template', t.bodyTemplate), str('timeout', t.timeout)]),
        t.endLine,
      );
    case 'command':
      return block(
        open('command'),
        present([str('binary', t.binary), list('args', t.args), str('timeout', t.timeout), kvBlock('env', t.env), kvBlock('secrets', t.secrets)]),
        t.endLine,
      );
    case 'inline':
      return block(
        open('inline'),
        present([str('language', t.language), str('code', t.code), str('timeout', t.timeout), str('memory', t.memory)]),
        t.endLine,
      );
    case '':
      // Only reachable for a file with parse errors; print what was written.
      return leaf([line(`tool ${word(t.typeWord)}`, t.pos.line)], t.endLine);
  }
}

function skillItem(st: SkillStmt): Item {
  const ex = st.execution;
  return named('skill', st, [
    str('description', st.description),
    fieldBlock('input', st.input),
    fieldBlock('output', st.output),
    st.tool !== undefined && toolItem(st.tool),
    ex !== undefined && leaf([line(`execution ${word(ex.kindWord)} ${quote(ex.value)}`, ex.pos.line)], ex.valuePos.line),
    kvBlock('metadata', st.metadata),
  ]);
}

// ---------------------------------------------------------------------------------------------
// agent

function configParamItem(p: ConfigParam): Item {
  let text = `${word(p.name)} ${word(p.type)}`;
  if (p.required) text += ' required';
  if (p.secret) text += ' secret';
  if (p.hasDefault) text += ` default ${configDefault(p)}`;
  const lines = [line(text, p.pos.line)];
  if (p.description !== undefined) lines.push(line(`  ${quote(p.description.value)}`, p.description.pos.line));
  return leaf(lines, p.description === undefined ? p.typePos.line : attrEnd(p.description));
}

/**
 * The config block(s). A description is an optional string on the lines after a parameter, so a
 * parameter whose name must be quoted would be read as the previous parameter's description when
 * that one has none; such a parameter starts a new `config` block (blocks are appended in order).
 */
function configBlocks(config: ConfigBlock): Item[] {
  const groups: ConfigParam[][] = [[]];
  let prev: ConfigParam | undefined;
  for (const p of config.params) {
    const current = groups[groups.length - 1] as ConfigParam[];
    if (prev !== undefined && prev.description === undefined && !isWord(p.name)) groups.push([p]);
    else current.push(p);
    prev = p;
  }
  return groups.map((g, i) => {
    const first = i === 0 ? config.pos.line : (g[0]?.pos.line ?? config.pos.line);
    const next = groups[i + 1]?.[0];
    const close = next === undefined ? config.endLine : next.pos.line - 1;
    return block(line('config {', first), g.map(configParamItem), Math.max(close, first));
  });
}

function configDefault(p: ConfigParam): string {
  const value = p.default ?? '';
  switch (p.defaultToken) {
    case 'number':
    case 'bool':
      return value;
    case 'name':
      return rawWord(value);
    default:
      return quote(value);
  }
}

function ruleItem(r: ValidationRule): Item {
  let first = `rule ${word(r.name)} ${word(r.severity)}`;
  if (r.maxRetries !== undefined) first += ` max_retries ${formatInt(r.maxRetries.value, r.maxRetries.text)}`;
  const lines = [line(first, r.pos.line)];
  if (r.message !== undefined) lines.push(line(`  ${quote(r.message.value)}`, r.message.pos.line));
  if (r.when !== undefined) lines.push(line(joinWords('  when', r.whenSource ?? r.when.value), r.when.pos.line));
  return leaf(lines, r.endLine);
}

function caseItem(c: EvalCase): Item {
  const lines = [line(`case ${word(c.name)}`, c.pos.line)];
  if (c.input !== undefined) lines.push(line(`  input ${quote(c.input.value)}`, c.input.pos.line));
  if (c.expect !== undefined) lines.push(line(`  expect ${quote(c.expect.value)}`, c.expect.pos.line));
  if (c.scoring !== undefined) {
    let text = `  scoring ${word(c.scoring.value)}`;
    if (c.threshold !== undefined) text += ` threshold ${formatFloat(c.threshold.value, c.threshold.text)}`;
    lines.push(line(text, c.scoring.pos.line));
  }
  if (c.tags !== undefined) lines.push(line(`  tags ${strList(c.tags.value)}`, c.tags.pos.line));
  return leaf(lines, c.endLine);
}

/** `keyword expr` without a dangling space when the expression is empty. */
function joinWords(...parts: string[]): string {
  return parts.filter((p) => p !== '').join(' ');
}

function onInputItem(s: OnInputStmt): Item {
  switch (s.kind) {
    case 'use': {
      const head = `use skill ${word(s.skill)}`;
      if (s.with === undefined) return leaf([line(head, s.pos.line)], s.endLine);
      const params = winners(s.with.params).map((p) => leaf([line(joinWords(`${word(p.key)}:`, p.valueSource ?? p.value), p.pos.line)], p.valuePos.line));
      return block(line(`${head} with {`, s.pos.line), params, s.endLine);
    }
    case 'delegate':
      return leaf([line(`delegate to ${word(s.agent)}`, s.pos.line)], s.endLine);
    case 'respond': {
      const bare = s.expressionSource ?? s.expression;
      const text = s.quoted || !isBareExpression(bare) ? quote(s.expression) : bare;
      return leaf([line(joinWords('respond', text), s.pos.line)], s.endLine);
    }
    case 'if': {
      const extra: Segment[] = s.elseIfs.map((ei) =>
        segment(line(joinWords('} else if', ei.conditionSource ?? ei.condition, '{'), ei.pos.line), ei.body.map(onInputItem)),
      );
      if (s.elseBody !== undefined) extra.push(segment(line('} else {', s.elsePos?.line ?? 0), s.elseBody.map(onInputItem)));
      return block(line(joinWords('if', s.conditionSource ?? s.condition, '{'), s.pos.line), s.body.map(onInputItem), s.endLine, extra);
    }
    case 'for_each':
      return block(
        line(joinWords(`for each ${word(s.variable)} in`, s.collectionSource ?? s.collection, '{'), s.pos.line),
        s.body.map(onInputItem),
        s.endLine,
      );
  }
}

function agentItem(st: AgentStmt): Item {
  const { memory, config, validate, eval: evalBlock, onInput } = st;
  return named('agent', st, [
    st.prompt !== undefined && attrLeaf(`uses prompt ${quote(st.prompt.value)}`, st.prompt),
    ...st.skills.map((s) => attrLeaf(`uses skill ${quote(s.value)}`, s)),
    str('model', st.model),
    str('connects to client', st.client),
    str('strategy', st.strategy),
    int('max_turns', st.maxTurns),
    str('timeout', st.timeout),
    int('token_budget', st.tokenBudget),
    float('temperature', st.temperature),
    bool('stream', st.stream),
    str('on_error', st.onError),
    int('max_retries', st.maxRetries),
    str('fallback', st.fallback),
    str('on_busy', st.onBusy),
    memory !== undefined &&
      block(line('memory {', memory.pos.line), present([str('strategy', memory.strategy), int('max_messages', memory.maxMessages)]), memory.endLine),
    ...st.delegates.map((d) => {
      // No `when ""` for a delegate written without a condition (the lowered condition is "" either way).
      let text = `delegate to agent ${quote(d.agent)}`;
      if (d.when !== undefined) text += ` when ${quote(d.when.value)}`;
      return leaf([line(text, d.pos.line)], d.when === undefined ? d.agentPos.line : attrEnd(d.when));
    }),
    ...(config === undefined ? [] : configBlocks(config)),
    validate !== undefined && block(line('validate {', validate.pos.line), validate.rules.map(ruleItem), validate.endLine),
    evalBlock !== undefined && block(line('eval {', evalBlock.pos.line), evalBlock.cases.map(caseItem), evalBlock.endLine),
    onInput !== undefined && block(line('on input {', onInput.pos.line), onInput.body.map(onInputItem), onInput.endLine),
    kvBlock('metadata', st.metadata),
  ]);
}

// ---------------------------------------------------------------------------------------------
// secret / environment / policy / binding / deploy

function secretItem(st: SecretStmt): Item {
  const s = st.source;
  return named('secret', st, [s !== undefined && leaf([line(`${s.source}(${word(s.key)})`, s.pos.line)], s.keyPos.line)]);
}

/** Consecutive targets naming the same resource are printed as one (their lines in order). */
function groupTargets(targets: readonly EnvTarget[]): EnvTarget[][] {
  const groups: EnvTarget[][] = [];
  for (const t of targets) {
    const prev = groups[groups.length - 1];
    const head = prev?.[0];
    if (prev !== undefined && head !== undefined && head.kindWord === t.kindWord && head.name === t.name) prev.push(t);
    else groups.push([t]);
  }
  return groups;
}

function environmentItem(st: EnvironmentStmt): Item {
  // Grouping only runs of one resource keeps the order of the lowered override list, which is
  // hashed: regrouping targets that are apart would change the Environment's hash.
  const body = groupTargets(st.targets).map((group) => {
    const first = group[0] as EnvTarget;
    const last = group[group.length - 1] as EnvTarget;
    const lines = group.flatMap((t) => t.attributes).map((a) => leaf([line(`${word(a.attribute)} ${quote(a.value)}`, a.pos.line)], a.valuePos.line));
    return block(line(`${word(first.kindWord)} ${quote(first.name)} {`, first.pos.line), lines, last.endLine);
  });
  return named('environment', st, body);
}

function policyItem(st: PolicyStmt): Item {
  return named(
    'policy',
    st,
    st.rules.map((r) => leaf([line([r.action, ...r.words.map(rawWord)].join(' '), r.pos.line)])),
  );
}

function bindingItem(st: BindingStmt): Item {
  return named('binding', st, [
    str('adapter', st.adapter),
    bool('default', st.default),
    // `adapter` and `default` as config keys must stay quoted or they would be read as attributes.
    ...winners(st.config).map((e) => kvEntryItem(e, ['adapter', 'default'])),
  ]);
}

function deployItem(st: DeployStmt): Item {
  const { resources: res, health, autoscale: auto } = st;
  const head = st.target === undefined ? `deploy ${quote(st.name)} {` : `deploy ${quote(st.name)} target ${quote(st.target.value)} {`;
  return block(
    line(head, st.pos.line),
    present([
      int('port', st.port),
      bool('default', st.default),
      str('namespace', st.namespace),
      int('replicas', st.replicas),
      str('image', st.image),
      res !== undefined && block(line('resources {', res.pos.line), present([str('cpu', res.cpu), str('memory', res.memory)]), res.endLine),
      health !== undefined &&
        block(
          line('health {', health.pos.line),
          present([str('path', health.path), str('interval', health.interval), str('timeout', health.timeout)]),
          health.endLine,
        ),
      auto !== undefined &&
        block(
          line('autoscale {', auto.pos.line),
          present([int('min', auto.min), int('max', auto.max), str('metric', auto.metric), int('target', auto.target)]),
          auto.endLine,
        ),
      kvBlock('env', st.env),
      kvBlock('secrets', st.secrets),
    ]),
    st.endLine,
  );
}

// ---------------------------------------------------------------------------------------------
// server / client / pipeline / type

function serverItem(st: ServerStmt): Item {
  return named('server', st, [
    str('transport', st.transport),
    str('command', st.command),
    list('args', st.args),
    str('url', st.url),
    str('auth', st.auth),
    ...st.exposes.map((e) => attrLeaf(`exposes skill ${quote(e.value)}`, e)),
    kvBlock('env', st.env),
    kvBlock('metadata', st.metadata),
  ]);
}

function clientItem(st: ClientStmt): Item {
  return named('client', st, [...st.connects.map((c) => attrLeaf(`connects to server ${quote(c.value)}`, c)), kvBlock('metadata', st.metadata)]);
}

function pipelineItem(st: PipelineStmt): Item {
  return named(
    'pipeline',
    st,
    st.steps.map((s) =>
      block(
        line(`step ${quote(s.name)} {`, s.pos.line),
        present([str('agent', s.agent), str('input', s.input), str('output', s.output), list('depends_on', s.dependsOn), bool('parallel', s.parallel), str('when', s.when)]),
        s.endLine,
      ),
    ),
  );
}

function typeItem(st: TypeStmt): Item {
  const head = `type ${quote(st.name)}`;
  const b = st.body;
  if (b === undefined) return leaf([line(head, st.pos.line)], st.endLine);
  switch (b.form) {
    case 'enum':
      return leaf([line(`${head} enum ${strList(b.values)}`, st.pos.line)], st.endLine);
    case 'list':
      return leaf([line(`${head} list ${word(b.of)}`, st.pos.line)], st.endLine);
    case 'fields':
      return block(line(`${head} {`, st.pos.line), b.fields.map(modFieldItem), st.endLine);
  }
}
