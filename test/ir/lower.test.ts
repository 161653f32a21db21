import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from '../../src/lang/index.ts';
import { lowerFile } from '../../src/ir/lower.ts';
import { contentHash } from '../../src/ir/hash.ts';
import { LoweringError } from '../../src/ir/errors.ts';
import type { IRDocument, Resource } from '../../src/ir/types.ts';

function lower(source: string, file = 't.ias'): IRDocument {
  const parsed = parse(source, file);
  assert.deepEqual(parsed.diagnostics, [], 'the test source must parse');
  return lowerFile(parsed.file);
}

const full = lower(readFileSync(fileURLToPath(new URL('full.ias', import.meta.url)), 'utf8'), 'full.ias');

function resource(fqn: string): Resource {
  const r = full.resources?.find((x) => x.fqn === fqn);
  assert.ok(r !== undefined, `no resource ${fqn}`);
  return r;
}

describe('document', () => {
  test('struct keys in declaration order; imports and plugins kept', () => {
    assert.deepEqual(Object.keys(full), [
      'ir_version',
      'lang_version',
      'package',
      'imports',
      'plugins',
      'resources',
      'policies',
      'bindings',
      'deploy_targets',
    ]);
    assert.equal(full.ir_version, '1.0');
    assert.equal(full.lang_version, '3.0');
    assert.deepEqual(full.package, { name: 'full', version: '2.1.0' });
    assert.deepEqual(full.imports, [{ path: './lib.ias', version: '1.0', alias: 'lib' }]);
    assert.deepEqual(full.plugins, [{ name: 'audit', version: '0.3' }, { name: 'bare' }]);
  });

  test('resources sorted by kind, then name in byte order (upper case first)', () => {
    assert.deepEqual(
      full.resources?.map((r) => `${r.kind}/${r.name}`),
      [
        'Agent/Zed',
        'Agent/bot',
        'Environment/empty',
        'Environment/prod',
        'MCPClient/c1',
        'MCPServer/files',
        'MCPServer/remote-srv',
        'Pipeline/flow',
        'Prompt/sys',
        'Secret/tok',
        'Skill/cmd',
        'Skill/code',
        'Skill/legacy',
        'Skill/remote',
        'Skill/web',
        'Type/colors',
        'Type/ids',
        'Type/user',
      ],
    );
  });

  test('resource keys in order; hash is over the attributes only; attribute keys sorted', () => {
    const bot = resource('full/Agent/bot');
    assert.deepEqual(Object.keys(bot), ['kind', 'name', 'fqn', 'attributes', 'references', 'hash', 'metadata']);
    assert.equal(bot.hash, contentHash(bot.attributes));
    const keys = Object.keys(bot.attributes);
    assert.deepEqual(keys, [...keys].sort());
    for (const r of full.resources ?? []) assert.equal(r.hash, contentHash(r.attributes), r.fqn);
  });

  test('resources is null when the file declares none; empty sections are omitted', () => {
    const doc = lower('package "e" version "1" lang "2.0"\n\ndeploy "d" target "process" {\n}\n');
    assert.equal(doc.resources, null);
    assert.deepEqual(Object.keys(doc), ['ir_version', 'lang_version', 'package', 'resources', 'deploy_targets']);
    assert.equal(JSON.stringify(doc).includes('"resources":null'), true);
  });

  test('lowering needs the package header', () => {
    const parsed = parse('prompt "p" {\n  content "x"\n}\n', 'nohead.ias');
    assert.throws(() => lowerFile(parsed.file), (err: unknown) => err instanceof LoweringError && err.code === 'E_LOWER');
  });
});

describe('agents', () => {
  test('every attribute, references in order (prompt, skills, client, fallback, delegates)', () => {
    const bot = resource('full/Agent/bot');
    const a = bot.attributes;
    assert.equal(a.model, 'claude');
    assert.equal(a.prompt, 'sys');
    assert.deepEqual(a.skills, ['web', 'cmd']);
    assert.equal(a.client, 'c1');
    assert.equal(a.strategy, 'react');
    assert.equal('max_turns' in a, false, 'max_turns 0 is not set');
    assert.equal(a.timeout, '30s');
    assert.equal(a.token_budget, 5000);
    assert.equal(a.temperature, 0.7);
    assert.equal(a.stream, true);
    assert.equal(a.on_error, 'fallback');
    assert.equal(a.max_retries, 3);
    assert.equal(a.fallback, 'Zed');
    assert.deepEqual(a.memory, { max_messages: 50, strategy: 'sliding' });
    assert.deepEqual(a.delegates, [
      { agent: 'Zed', condition: 'hard' },
      { agent: 'Zed', condition: '' },
    ]);
    assert.deepEqual(bot.references, [
      'full/Prompt/sys',
      'full/Skill/web',
      'full/Skill/cmd',
      'full/MCPClient/c1',
      'full/Agent/Zed',
      'full/Agent/Zed',
      'full/Agent/Zed',
    ]);
    assert.deepEqual(bot.metadata, { tier: 'gold' });
  });

  test('prompt shorthand, loop alias, plan-execute alias, float 1.0 written as 1, stream false, empty memory', () => {
    const zed = resource('full/Agent/Zed');
    assert.deepEqual(zed.attributes, {
      memory: {},
      model: 'm',
      prompt: 'sys',
      strategy: 'plan-and-execute',
      stream: false,
      temperature: 1,
    });
    assert.match(JSON.stringify(zed.attributes), /"temperature":1[,}]/);
    assert.equal(zed.metadata, undefined);
  });

  test('[3.0] config params, validation rules, eval cases', () => {
    const a = resource('full/Agent/bot').attributes;
    assert.deepEqual(a.config_params, [
      { default: '2000', description: 'Max', name: 'limit', type: 'int' },
      { default: 'false', name: 'flag', type: 'bool' },
      { description: 'API key', name: 'key', required: true, secret: true, type: 'string' },
      { default: '', name: 'empty', type: 'string' },
    ]);
    assert.deepEqual(a.validation_rules, [
      { expression: 'output != "" and len ( output ) > 1', max_retries: 2, message: 'Must not be empty', name: 'nonempty', severity: 'error' },
      { expression: 'true', name: 'soft', severity: 'warning' },
    ]);
    assert.deepEqual(a.eval_cases, [
      { expected: 'hello', input: 'hi', name: 'c1', scoring: 'exact', tags: ['a', 'b'] },
      { expected: 'y', input: 'x', name: 'c2', scoring: 'exact', threshold: 0 },
      { expected: 'y', input: 'x', name: 'c3', scoring: 'semantic', threshold: 0.55 },
    ]);
  });

  test('[3.0] on input statements', () => {
    assert.deepEqual(resource('full/Agent/bot').attributes.on_input, [
      { params: { n: '3', query: 'input.text' }, skill: 'web', type: 'use_skill' },
      {
        body: [{ expression: 'A', type: 'respond' }],
        condition: 'input == "a"',
        else_body: [{ expression: 'input', type: 'respond' }],
        else_ifs: [{ body: [{ agent: 'Zed', type: 'delegate' }], condition: 'input == "b"' }],
        type: 'if',
      },
      { body: [{ skill: 'cmd', type: 'use_skill' }], collection: 'input.items', type: 'for_each', variable: 'item' },
    ]);
  });
});

describe('other kinds', () => {
  test('prompt: content, version, variables; metadata not hashed', () => {
    const p = resource('full/Prompt/sys');
    assert.deepEqual(p.attributes, {
      content: 'Hello {{ name }} <b> & co',
      variables: [
        { name: 'name', required: true, type: 'string' },
        { default: 'warm', name: 'tone', type: 'string' },
      ],
      version: '3',
    });
    assert.deepEqual(p.metadata, { area: 'support', owner: 'team-a' });
    assert.equal(p.references, undefined);
  });

  test('skills: every tool type and the legacy execution form', () => {
    assert.deepEqual(resource('full/Skill/web').attributes.tool, {
      body_template: '{"q": "{{q}}"}',
      headers: { Accept: 'json', 'X-Key': 'k' },
      method: 'POST',
      timeout: '5s',
      type: 'http',
      url: 'https://x.test/api',
    });
    assert.deepEqual(resource('full/Skill/web').attributes.input, [
      { name: 'q', required: true, type: 'string' },
      { name: 'limit', type: 'int' },
    ]);
    assert.deepEqual(resource('full/Skill/cmd').attributes.tool, {
      args: ['-v', '--x'],
      binary: 'run',
      env: { MODE: 'fast' },
      secrets: { TOKEN: 'tok' },
      timeout: '10s',
      type: 'command',
    });
    assert.deepEqual(resource('full/Skill/code').attributes.tool, {
      code: 'print(1)',
      language: 'python',
      memory_limit: '128Mi',
      type: 'inline',
    });
    assert.deepEqual(resource('full/Skill/remote').attributes.tool, { server_tool: 'files/read', type: 'mcp' });
    const legacy = resource('full/Skill/legacy').attributes;
    assert.deepEqual(legacy.execution, { type: 'command', value: 'old-tool --flag' });
    assert.equal('tool' in legacy, false);
  });

  test('server, client, secret: attributes and references', () => {
    const files = resource('full/MCPServer/files');
    assert.deepEqual(files.attributes, {
      args: ['--root', '/tmp'],
      auth: 'tok',
      command: 'fs-server',
      env: { LEVEL: 'debug' },
      transport: 'stdio',
    });
    assert.deepEqual(files.references, ['full/Secret/tok', 'full/Skill/remote', 'full/Skill/cmd']);
    assert.deepEqual(resource('full/MCPServer/remote-srv').attributes, { transport: 'sse', url: 'https://mcp.test/sse' });
    assert.equal(resource('full/MCPServer/remote-srv').references, undefined);
    const c1 = resource('full/MCPClient/c1');
    assert.deepEqual(c1.attributes, { servers: ['files', 'remote-srv'] });
    assert.deepEqual(c1.references, ['full/MCPServer/files', 'full/MCPServer/remote-srv']);
    assert.deepEqual(resource('full/Secret/tok').attributes, { key: 'vault/path', source: 'store' });
  });

  test('environment overrides (values are strings; an empty environment has an empty list)', () => {
    assert.deepEqual(resource('full/Environment/prod').attributes, {
      name: 'prod',
      overrides: [
        { attribute: 'model', resource: 'agent/bot', value: 'big' },
        { attribute: 'max_turns', resource: 'agent/bot', value: '9' },
        { attribute: 'command', resource: 'server/files', value: 'fs2' },
      ],
    });
    assert.deepEqual(resource('full/Environment/empty').attributes, { name: 'empty', overrides: [] });
  });

  test('types and pipelines', () => {
    assert.deepEqual(resource('full/Type/user').attributes, {
      fields: [
        { name: 'name', required: true, type: 'string' },
        { default: '0', name: 'age', type: 'int' },
      ],
      name: 'user',
    });
    assert.deepEqual(resource('full/Type/colors').attributes, { enum: ['red', 'green'], name: 'colors' });
    assert.deepEqual(resource('full/Type/ids').attributes, { list_of: 'int', name: 'ids' });
    const flow = resource('full/Pipeline/flow');
    assert.deepEqual(flow.attributes, {
      name: 'flow',
      steps: [
        { agent: 'bot', input: 'in', name: 'one', output: 'mid' },
        { agent: 'Zed', depends_on: ['one'], name: 'two', parallel: true, when: 'ok' },
        { agent: 'bot', name: 'three' },
      ],
    });
    assert.deepEqual(flow.references, ['full/Agent/bot', 'full/Agent/Zed', 'full/Agent/bot']);
  });

  test('policies, bindings and deploy targets keep source order', () => {
    assert.deepEqual(full.policies, [
      {
        name: 'guard',
        rules: [
          { action: 'deny', resource: 'model', subject: 'claude-haiku-latest' },
          { action: 'require', resource: 'secret', subject: '' },
          { action: 'allow', resource: '', subject: '' },
        ],
      },
      { name: 'none', rules: null },
    ]);
    assert.deepEqual(full.bindings, [
      { name: 'b1', adapter: 'local-mcp', default: true, config: { region: 'eu', zone: 'b' } },
      { name: 'b2', adapter: 'docker' },
    ]);
    assert.deepEqual(full.deploy_targets, [
      {
        name: 'prod',
        target: 'kubernetes',
        default: true,
        config: {
          autoscale: { max_replicas: 5, metric: 'cpu', min_replicas: 1, target: 80 },
          env: { A: '1' },
          health: { interval: '10s', path: '/healthz', timeout: '2s' },
          image: 'img:1',
          namespace: 'ns',
          port: 8080,
          replicas: 3,
          resources: { cpu: '500m', memory: '1Gi' },
          secrets: { S: 'tok' },
        },
      },
      { name: 'bare', target: 'process', config: { health: {} } },
    ]);
    assert.deepEqual(Object.keys(full.deploy_targets?.[0] ?? {}), ['name', 'target', 'default', 'config']);
  });
});

describe('merged statements', () => {
  test('statements passed in (e.g. from imports) take the lowering file\'s package name', () => {
    const root = parse('package "app" version "1" lang "3.0"\n', 'app.ias');
    const lib = parse('package "lib" version "9" lang "3.0"\nprompt "shared" {\n  content "s"\n}\n', 'lib.ias');
    const doc = lowerFile(root.file, [...root.file.statements, ...lib.file.statements]);
    assert.deepEqual(doc.resources?.map((r) => r.fqn), ['app/Prompt/shared']);
    assert.deepEqual(doc.package, { name: 'app', version: '1' });
  });

  test('a name repeated within a kind is lowered once (the first)', () => {
    const a = parse('package "app" version "1" lang "3.0"\nprompt "p" {\n  content "first"\n}\n', 'a.ias');
    const b = parse('package "b" version "1" lang "3.0"\nprompt "p" {\n  content "second"\n}\n', 'b.ias');
    const doc = lowerFile(a.file, [...a.file.statements, ...b.file.statements]);
    assert.equal(doc.resources?.length, 1);
    assert.equal(doc.resources?.[0]?.attributes.content, 'first');
  });
});

test('map keys that are Object.prototype names are kept as ordinary keys (and hashed)', () => {
  const doc = lower(
    'package "p" version "1" lang "3.0"\nprompt "p" {\n  content "x"\n  metadata {\n    __proto__ "evil"\n    constructor "c"\n  }\n}\n' +
      'server "s" {\n  transport "stdio"\n  command "c"\n  env {\n    __proto__ "v"\n  }\n}\n',
  );
  const server = doc.resources?.find((r) => r.kind === 'MCPServer');
  assert.equal(Object.getOwnPropertyDescriptor(server?.attributes.env, '__proto__')?.value, 'v');
  assert.equal(server?.hash, contentHash({ command: 'c', env: JSON.parse('{"__proto__":"v"}') as Record<string, string>, transport: 'stdio' }));
  assert.match(JSON.stringify(server?.attributes), /"env":\{"__proto__":"v"\}/);
  const prompt = doc.resources?.find((r) => r.kind === 'Prompt');
  assert.deepEqual(Object.keys(prompt?.metadata ?? {}), ['__proto__', 'constructor']);
});
