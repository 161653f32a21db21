import type {
  AutoscaleBlock,
  BindingStmt,
  ClientStmt,
  DeployStmt,
  EnvTarget,
  EnvironmentStmt,
  HealthBlock,
  ImportStmt,
  PipelineStep,
  PipelineStmt,
  PluginStmt,
  PolicyRule,
  PolicyStmt,
  ResourcesBlock,
  SecretStmt,
  ServerStmt,
  TypeBody,
  TypeStmt,
} from './ast.ts';
import { type Cursor, statementName } from './parser-core.ts';
import { modFieldEntry } from './parse-skill.ts';
import { describeToken } from './tokens.ts';

export function parseImport(c: Cursor): ImportStmt {
  const pos = c.next().pos;
  const path = c.string('import path');
  const stmt: ImportStmt = { kind: 'import', pos, endLine: pos.line, path: path.value, pathPos: path.pos, pathEndPos: c.tok.pos };
  if (c.isKw('version')) stmt.version = c.strAttr('import version');
  if (c.isKw('as')) stmt.alias = c.nameAttr('import alias');
  stmt.endLine = c.prevLine;
  return stmt;
}

export function parsePlugin(c: Cursor): PluginStmt {
  const head = statementName(c, 'plugin');
  const stmt: PluginStmt = { kind: 'plugin', ...head, endLine: head.pos.line };
  if (c.isKw('version')) stmt.version = c.strAttr('plugin version');
  stmt.endLine = c.prevLine;
  return stmt;
}

export function parseSecret(c: Cursor): SecretStmt {
  const head = statementName(c, 'secret');
  const stmt: SecretStmt = { kind: 'secret', ...head, endLine: head.pos.line };
  stmt.endLine = c.block(
    'secret',
    () => {
      if (!c.isKw('env') && !c.isKw('store')) return false;
      const t = c.next();
      const parenthesized = c.is('(');
      if (parenthesized) c.next();
      const key = c.name(`secret ${t.text} key`);
      if (parenthesized) c.expect(')');
      stmt.source = { pos: t.pos, source: t.text === 'env' ? 'env' : 'store', key: key.value, keyPos: key.pos, parenthesized };
      return true;
    },
    { hint: 'expected env(NAME) or store(NAME)' },
  );
  return stmt;
}

export function parseEnvironment(c: Cursor): EnvironmentStmt {
  const head = statementName(c, 'environment');
  const stmt: EnvironmentStmt = { kind: 'environment', ...head, endLine: head.pos.line, targets: [] };
  stmt.endLine = c.block('environment', () => {
    const kind = c.next();
    const name = c.string('override target name');
    const target: EnvTarget = { pos: kind.pos, endLine: kind.pos.line, kindWord: kind.text, name: name.value, namePos: name.pos, attributes: [] };
    target.endLine = c.block('environment override', () => {
      const attr = c.next();
      const v = c.name(`override value of ${attr.text}`);
      target.attributes.push({ pos: attr.pos, attribute: attr.text, value: v.value, valuePos: v.pos });
      return true;
    });
    stmt.targets.push(target);
    return true;
  });
  return stmt;
}

export function parsePolicy(c: Cursor): PolicyStmt {
  const head = statementName(c, 'policy');
  const stmt: PolicyStmt = { kind: 'policy', ...head, endLine: head.pos.line, rules: [] };
  stmt.endLine = c.block(
    'policy',
    () => {
      if (!c.isKw('deny') && !c.isKw('allow') && !c.isKw('require')) return false;
      const t = c.next();
      const words: string[] = [];
      while (!c.atStructural()) words.push(c.next().text);
      const rule: PolicyRule = {
        pos: t.pos,
        action: t.text as PolicyRule['action'],
        resource: words[0] ?? '',
        subject: words.slice(1).join(' '),
        words,
      };
      stmt.rules.push(rule);
      return true;
    },
    { hint: 'expected deny, allow or require' },
  );
  return stmt;
}

export function parseBinding(c: Cursor): BindingStmt {
  const head = statementName(c, 'binding');
  const stmt: BindingStmt = { kind: 'binding', ...head, endLine: head.pos.line, config: [] };
  if (c.isKw('adapter')) stmt.adapter = c.strAttr('binding adapter');
  stmt.endLine = c.block('binding', () => {
    if (c.isKw('default')) {
      const pos = c.next().pos;
      if (c.isKw('true') || c.isKw('false')) {
        const v = c.next();
        stmt.default = { value: v.text === 'true', pos, valuePos: v.pos, afterPos: c.tok.pos };
      } else {
        stmt.default = { value: true, pos, valuePos: pos, afterPos: c.tok.pos };
      }
    } else if (c.isKw('adapter')) {
      stmt.adapter = c.strAttr('binding adapter');
    } else {
      const key = c.next();
      const v = c.any(`value for binding config key ${JSON.stringify(key.text)}`);
      if (v !== undefined) stmt.config.push({ pos: key.pos, key: key.text, value: v.value, valuePos: v.pos });
    }
    return true;
  });
  return stmt;
}

export function parseDeploy(c: Cursor): DeployStmt {
  const head = statementName(c, 'deploy');
  const stmt: DeployStmt = { kind: 'deploy', ...head, endLine: head.pos.line };
  if (c.isKw('target')) {
    stmt.target = c.strAttr('deploy target');
  } else {
    c.errorHere(`expected 'target' keyword in deploy block, got ${describeToken(c.tok)}`, 'write: deploy "name" target "process" {');
  }
  stmt.endLine = c.block('deploy', () => {
    const t = c.tok;
    if (t.kind !== 'kw') return false;
    switch (t.text) {
      case 'port':
        stmt.port = c.intAttr('port') ?? stmt.port;
        return true;
      case 'default':
        stmt.default = c.boolAttr('default') ?? stmt.default;
        return true;
      case 'namespace':
        stmt.namespace = c.strAttr('namespace');
        return true;
      case 'replicas':
        stmt.replicas = c.intAttr('replicas') ?? stmt.replicas;
        return true;
      case 'image':
        stmt.image = c.strAttr('image');
        return true;
      case 'resources': {
        const pos = c.next().pos;
        const r: ResourcesBlock = { pos, endLine: pos.line };
        r.endLine = c.block('resources', () => {
          if (c.isWord('cpu')) r.cpu = c.strAttr('cpu');
          else if (c.isKw('memory')) r.memory = c.strAttr('memory');
          else return false;
          return true;
        });
        stmt.resources = r;
        return true;
      }
      case 'health': {
        const pos = c.next().pos;
        const h: HealthBlock = { pos, endLine: pos.line };
        h.endLine = c.block('health', () => {
          if (c.isWord('path')) h.path = c.strAttr('health path');
          else if (c.isWord('interval')) h.interval = c.strAttr('health interval');
          else if (c.isKw('timeout')) h.timeout = c.strAttr('health timeout');
          else return false;
          return true;
        });
        stmt.health = h;
        return true;
      }
      case 'autoscale': {
        const pos = c.next().pos;
        const a: AutoscaleBlock = { pos, endLine: pos.line };
        a.endLine = c.block('autoscale', () => {
          if (c.isWord('min')) a.min = c.intAttr('autoscale min') ?? a.min;
          else if (c.isWord('max')) a.max = c.intAttr('autoscale max') ?? a.max;
          else if (c.isWord('metric')) a.metric = c.strAttr('autoscale metric');
          else if (c.isKw('target')) a.target = c.intAttr('autoscale target') ?? a.target;
          else return false;
          return true;
        });
        stmt.autoscale = a;
        return true;
      }
      case 'env':
        stmt.env = c.kv(c.next().pos, 'env', stmt.env);
        return true;
      case 'secrets':
        stmt.secrets = c.kv(c.next().pos, 'secrets', stmt.secrets);
        return true;
      default:
        return false;
    }
  }, { attributes: ['port', 'default', 'namespace', 'replicas', 'image', 'resources', 'health', 'autoscale', 'env', 'secrets'] });
  return stmt;
}

export function parseServer(c: Cursor): ServerStmt {
  const head = statementName(c, 'server');
  const stmt: ServerStmt = { kind: 'server', ...head, endLine: head.pos.line, exposes: [] };
  stmt.endLine = c.block('server', () => {
    if (c.isKw('transport')) stmt.transport = c.nameAttr('transport');
    else if (c.isKw('command')) stmt.command = c.strAttr('server command');
    else if (c.isKw('args')) stmt.args = c.listAttr('server args');
    else if (c.isKw('url')) stmt.url = c.strAttr('server url');
    else if (c.isKw('auth')) stmt.auth = c.strAttr('server auth');
    else if (c.isKw('exposes')) {
      const pos = c.next().pos;
      if (c.isKw('skill')) c.next();
      const v = c.string('exposed skill');
      stmt.exposes.push({ value: v.value, pos, valuePos: v.pos, afterPos: c.tok.pos });
    } else if (c.isKw('env')) stmt.env = c.kv(c.next().pos, 'env', stmt.env);
    else if (c.isKw('metadata')) stmt.metadata = c.kv(c.next().pos, 'metadata', stmt.metadata);
    else return false;
    return true;
  });
  return stmt;
}

export function parseClient(c: Cursor): ClientStmt {
  const head = statementName(c, 'client');
  const stmt: ClientStmt = { kind: 'client', ...head, endLine: head.pos.line, connects: [] };
  stmt.endLine = c.block('client', () => {
    if (c.isKw('connects')) {
      const pos = c.next().pos;
      if (c.isKw('to')) c.next();
      if (c.isKw('server')) c.next();
      const v = c.string('server reference');
      stmt.connects.push({ value: v.value, pos, valuePos: v.pos, afterPos: c.tok.pos });
    } else if (c.isKw('metadata')) stmt.metadata = c.kv(c.next().pos, 'metadata', stmt.metadata);
    else return false;
    return true;
  });
  return stmt;
}

function parseStep(c: Cursor): PipelineStep {
  const pos = c.next().pos;
  const name = c.string('step name');
  const step: PipelineStep = { pos, endLine: pos.line, name: name.value, namePos: name.pos };
  step.endLine = c.block('step', () => {
    if (c.isKw('agent')) step.agent = c.strAttr('step agent');
    else if (c.isKw('input')) step.input = c.strAttr('step input');
    else if (c.isKw('output')) step.output = c.strAttr('step output');
    else if (c.isKw('when')) step.when = c.strAttr('step condition');
    else if (c.isKw('depends_on')) step.dependsOn = c.listAttr('depends_on');
    else if (c.isKw('parallel')) step.parallel = c.boolAttr('parallel') ?? step.parallel;
    else return false;
    return true;
  });
  return step;
}

export function parsePipeline(c: Cursor): PipelineStmt {
  const head = statementName(c, 'pipeline');
  const stmt: PipelineStmt = { kind: 'pipeline', ...head, endLine: head.pos.line, steps: [] };
  stmt.endLine = c.block('pipeline', () => {
    if (!c.isKw('step')) {
      c.errorHere(`unexpected token ${describeToken(c.tok)} in pipeline block, expected 'step'`);
      c.next();
      return true;
    }
    stmt.steps.push(parseStep(c));
    return true;
  });
  return stmt;
}

export function parseType(c: Cursor): TypeStmt {
  const head = statementName(c, 'type');
  const stmt: TypeStmt = { kind: 'type', ...head, endLine: head.pos.line };
  const t = c.tok;
  if (c.isKw('enum')) {
    c.next();
    stmt.body = { form: 'enum', pos: t.pos, values: c.strlist('type enum') };
  } else if (c.isKw('list')) {
    c.next();
    const ofPos = c.tok.pos;
    const of = c.any('list element type');
    stmt.body = { form: 'list', pos: t.pos, of: of?.value ?? '', ofPos };
  } else if (c.is('{')) {
    const body: Extract<TypeBody, { form: 'fields' }> = { form: 'fields', pos: t.pos, endLine: t.pos.line, fields: [] };
    body.endLine = c.block('type', () => modFieldEntry(c, 'field', body.fields), { sameLine: true });
    stmt.body = body;
  } else {
    c.errorHere(`expected '{', 'enum', or 'list' after type name, got ${describeToken(t)}`);
  }
  stmt.endLine = c.prevLine;
  return stmt;
}
