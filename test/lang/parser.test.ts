import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from '../../src/lang/parser.ts';
import { HEADER, errs, only, parseOk, values } from './helpers.ts';

describe('header, import, plugin', () => {
  test('header parts in any order, positions kept', () => {
    const f = parseOk('\n\npackage "demo" lang "2.0" version "0.1.0"\n');
    assert.equal(f.header?.name, 'demo');
    assert.equal(f.header?.version?.value, '0.1.0');
    assert.equal(f.header?.lang?.value, '2.0');
    assert.deepEqual(f.header?.pos, { line: 3, column: 1 });
    assert.deepEqual(f.header?.lang?.valuePos, { line: 3, column: 21 });
    assert.equal(f.path, 't.ias');
  });

  test('header with only a name leaves version and lang unset', () => {
    const f = parseOk('package "demo"\n');
    assert.equal(f.header?.version, undefined);
    assert.equal(f.header?.lang, undefined);
  });

  test('import with version and alias; plugin with version', () => {
    const f = parseOk(HEADER + 'import "./lib.ias" version "1.2.0" as lib\nimport "github.com/x/y"\nplugin "monitor" version "0.3"\nplugin "bare"\n');
    assert.deepEqual(values(f.statements), [
      { kind: 'import', path: './lib.ias', version: { value: '1.2.0' }, alias: { value: 'lib' } },
      { kind: 'import', path: 'github.com/x/y' },
      { kind: 'plugin', name: 'monitor', version: { value: '0.3' } },
      { kind: 'plugin', name: 'bare' },
    ]);
    const imp = f.statements[0];
    assert.equal(imp?.kind, 'import');
    if (imp?.kind === 'import') {
      assert.deepEqual(imp.pos, { line: 2, column: 1 });
      assert.deepEqual(imp.pathPos, { line: 2, column: 8 });
      assert.deepEqual(imp.pathEndPos, { line: 2, column: 20 });
    }
  });

  test('plugins with the same name are not duplicates', () => {
    const f = parseOk(HEADER + 'plugin "a"\nplugin "a"\n');
    assert.equal(f.statements.length, 2);
  });
});

describe('prompt', () => {
  test('content, version, variables with modifier loop, repeated metadata merges', () => {
    const p = only(
      `prompt "greet" {
  content "Hello {{ name }}"
  version "2"
  variables {
    name string required default "bob"
    tone string default "warm" required
    plain int
  }
  metadata { owner "team-a" tier gold }
  metadata { owner "team-b" }
}
`,
      'prompt',
    );
    assert.equal(p.name, 'greet');
    assert.equal(p.content?.value, 'Hello {{ name }}');
    assert.equal(p.version?.value, '2');
    assert.deepEqual(values(p.variables?.entries), [
      { name: 'name', type: 'string', required: true, default: 'bob' },
      { name: 'tone', type: 'string', required: true, default: 'warm' },
      { name: 'plain', type: 'int', required: false },
    ]);
    assert.deepEqual(
      p.metadata?.entries.map((e) => [e.key, e.value]),
      [
        ['owner', 'team-a'],
        ['tier', 'gold'],
        ['owner', 'team-b'],
      ],
    );
    assert.deepEqual(p.metadata?.pos, { line: 10, column: 3 });
    assert.equal(p.endLine, 12);
    assert.deepEqual(p.nameEndPos, { line: 2, column: 16 });
    assert.deepEqual(p.content?.pos, { line: 3, column: 3 });
    assert.deepEqual(p.content?.afterPos, { line: 3, column: 29 });
  });

  test('an unknown word ends the modifier loop and starts the next entry', () => {
    const p = only('prompt "x" { content "c" variables { a string required b int } }\n', 'prompt');
    assert.deepEqual(values(p.variables?.entries), [
      { name: 'a', type: 'string', required: true },
      { name: 'b', type: 'int', required: false },
    ]);
  });

  test('brace on the next line is accepted for ordinary blocks', () => {
    const p = only('prompt "x"\n{\n  content "c"\n}\n', 'prompt');
    assert.equal(p.content?.value, 'c');
  });

  test('last occurrence of a scalar wins', () => {
    const p = only('prompt "x" {\n  content "a"\n  content "b"\n}\n', 'prompt');
    assert.equal(p.content?.value, 'b');
    assert.equal(p.content?.pos.line, 4);
  });

  test('attributes may share a line (newlines between attributes are optional)', () => {
    const p = only('prompt "x" { content "a" version "1" }\n', 'prompt');
    assert.equal(p.version?.value, '1');
  });
});

describe('skill and tools', () => {
  test('fields, tool mcp, metadata', () => {
    const s = only(
      `skill "search" {
  description "Search"
  input { query string required limit int }
  output {
    results string
  }
  tool mcp "srv/search"
  metadata { k v }
}
`,
      'skill',
    );
    assert.equal(s.description?.value, 'Search');
    assert.deepEqual(values(s.input?.fields), [
      { name: 'query', type: 'string', required: true },
      { name: 'limit', type: 'int', required: false },
    ]);
    assert.deepEqual(values(s.output?.fields), [{ name: 'results', type: 'string', required: false }]);
    assert.equal(s.tool?.type, 'mcp');
    if (s.tool?.type === 'mcp') {
      assert.equal(s.tool.serverTool.value, 'srv/search');
      assert.deepEqual(s.tool.typePos, { line: 8, column: 8 });
      assert.deepEqual(s.tool.serverTool.pos, { line: 8, column: 8 });
    }
    assert.deepEqual(s.input?.fields[1]?.pos, { line: 4, column: 33 });
  });

  test('tool http; a repeated headers block replaces the previous one', () => {
    const s = only(
      `skill "h" {
  tool http {
    method "POST"
    url "https://x"
    headers { A "1" B "2" }
    headers { C "3" }
    body_template "{\\"q\\": \\"{{q}}\\"}"
    timeout "5s"
  }
}
`,
      'skill',
    );
    assert.equal(s.tool?.type, 'http');
    if (s.tool?.type !== 'http') return;
    assert.equal(s.tool.method?.value, 'POST');
    assert.equal(s.tool.url?.value, 'https://x');
    assert.deepEqual(s.tool.headers?.entries.map((e) => e.key), ['C']);
    assert.equal(s.tool.bodyTemplate?.value, '{"q": "{{q}}"}');
    assert.equal(s.tool.timeout?.value, '5s');
    assert.equal(s.tool.endLine, 10);
  });

  test('tool command and tool inline', () => {
    const f = parseOk(
      HEADER +
        `skill "c" {
  tool command {
    binary "echo"
    args ["a", "b" "c"]
    timeout "10s"
    env { HOME "/tmp" }
    secrets { TOKEN api-token }
  }
}
skill "i" {
  tool inline { language "python" code "print(1)" timeout "2s" memory "128Mi" }
}
`,
    );
    const [c, i] = f.statements;
    assert.ok(c?.kind === 'skill' && c.tool?.type === 'command');
    assert.deepEqual(c.tool.args?.value, ['a', 'b', 'c']);
    assert.equal(c.tool.binary?.value, 'echo');
    assert.deepEqual(c.tool.env?.entries.map((e) => [e.key, e.value]), [['HOME', '/tmp']]);
    assert.deepEqual(c.tool.secrets?.entries.map((e) => [e.key, e.value]), [['TOKEN', 'api-token']]);
    assert.ok(i?.kind === 'skill' && i.tool?.type === 'inline');
    assert.deepEqual(values(i.tool), {
      type: 'inline',
      typeWord: 'inline',
      language: { value: 'python' },
      code: { value: 'print(1)' },
      timeout: { value: '2s' },
      memory: { value: '128Mi' },
    });
  });

  test('legacy execution form', () => {
    const s = only('skill "old" {\n  execution command "run.sh"\n}\n', 'skill');
    assert.deepEqual(values(s.execution), { kindWord: 'command', value: 'run.sh' });
  });

  test('an args list may be a single string', () => {
    const s = only('skill "c" { tool command { args "one" } }\n', 'skill');
    assert.ok(s.tool?.type === 'command');
    assert.deepEqual(s.tool.args?.value, ['one']);
  });
});

describe('agent', () => {
  test('every 2.0 attribute', () => {
    const a = only(
      `agent "bot" {
  uses prompt "sys"
  uses skill "a"
  uses skill "b"
  model "claude"
  connects to client "c1"
  strategy "plan-execute"
  max_turns 10
  token_budget 100000
  max_retries 2
  timeout "30s"
  on_error "fallback"
  fallback "other"
  temperature 0.7
  stream true
  memory {
    strategy "sliding"
    max_messages 50
  }
  delegate to agent "helper" when "needs help"
  delegate "x"
  metadata { team "core" }
}
`,
      'agent',
    );
    assert.deepEqual(values(a), {
      kind: 'agent',
      name: 'bot',
      skills: [{ value: 'a' }, { value: 'b' }],
      delegates: [
        { hasTo: true, hasAgentKeyword: true, agent: 'helper', when: { value: 'needs help' } },
        { hasTo: false, hasAgentKeyword: false, agent: 'x' },
      ],
      prompt: { value: 'sys', form: 'uses' },
      model: { value: 'claude' },
      client: { value: 'c1' },
      strategy: { value: 'plan-execute', keyword: 'strategy' },
      maxTurns: { value: 10, text: '10' },
      tokenBudget: { value: 100000, text: '100000' },
      maxRetries: { value: 2, text: '2' },
      timeout: { value: '30s' },
      onError: { value: 'fallback' },
      fallback: { value: 'other' },
      temperature: { value: 0.7, text: '0.7' },
      stream: { value: true },
      memory: { strategy: { value: 'sliding' }, maxMessages: { value: 50, text: '50' } },
      metadata: { entries: [{ key: 'team', value: 'core' }] },
    });
    // Positions the validator reports at.
    assert.deepEqual(a.prompt?.afterPos, { line: 3, column: 20 });
    assert.deepEqual(a.skills[0]?.afterPos, { line: 4, column: 17 });
    assert.deepEqual(a.delegates[0]?.toPos, { line: 21, column: 12 });
    assert.deepEqual(a.delegates[1]?.toPos, { line: 22, column: 12 });
    assert.deepEqual(a.client?.afterPos, { line: 7, column: 26 });
    assert.equal(a.memory?.endLine, 20);
    assert.equal(a.endLine, 24);
  });

  test('[3.0] prompt shorthand, loop alias, connects without to/client, temperature 0 is written', () => {
    const a = only('agent "a" {\n  prompt sys\n  loop "react"\n  connects "c"\n  temperature 0\n  stream false\n}\n', 'agent');
    assert.deepEqual(values(a.prompt), { value: 'sys', form: 'shorthand' });
    assert.deepEqual(values(a.strategy), { value: 'react', keyword: 'loop' });
    assert.equal(a.client?.value, 'c');
    assert.equal(a.temperature?.value, 0);
    assert.equal(a.stream?.value, false);
  });

  test('an unset attribute stays undefined', () => {
    const a = only('agent "a" { model "m" }\n', 'agent');
    assert.equal(a.maxTurns, undefined);
    assert.equal(a.temperature, undefined);
    assert.equal(a.stream, undefined);
    assert.equal(a.memory, undefined);
    assert.deepEqual(a.skills, []);
  });

  test('empty memory block is recorded', () => {
    const a = only('agent "a" { memory { } }\n', 'agent');
    assert.ok(a.memory !== undefined);
    assert.equal(a.memory.strategy, undefined);
  });

  test('NAME reader accepts keywords, strings and (quirk) operator tokens', () => {
    assert.equal(only('agent "a" { prompt agent }\n', 'agent').prompt?.value, 'agent');
    assert.equal(only('agent "a" { prompt "quoted" }\n', 'agent').prompt?.value, 'quoted');
    assert.equal(only('agent "a" { prompt >= }\n', 'agent').prompt?.value, '>=');
    assert.equal(only('agent "a" { prompt : }\n', 'agent').prompt?.value, ':');
  });
});

describe('[3.0] config, validate, eval', () => {
  test('config params: modifiers, defaults of every token kind, description on the next line', () => {
    const a = only(
      `agent "a" {
  config {
    style string default "friendly"
      "Style of greeting"
    limit int default 2000
    verbose bool default false
    mode string default fast
    key string required secret
      "API key"
    plain string
  }
}
`,
      'agent',
    );
    assert.deepEqual(values(a.config?.params), [
      { name: 'style', type: 'string', required: false, secret: false, hasDefault: true, defaultToken: 'string', default: 'friendly', description: { value: 'Style of greeting' } },
      { name: 'limit', type: 'int', required: false, secret: false, hasDefault: true, defaultToken: 'number', default: '2000' },
      { name: 'verbose', type: 'bool', required: false, secret: false, hasDefault: true, defaultToken: 'bool', default: 'false' },
      { name: 'mode', type: 'string', required: false, secret: false, hasDefault: true, defaultToken: 'name', default: 'fast' },
      { name: 'key', type: 'string', required: true, secret: true, hasDefault: false, description: { value: 'API key' } },
      { name: 'plain', type: 'string', required: false, secret: false, hasDefault: false },
    ]);
    assert.deepEqual(a.config?.params[0]?.pos, { line: 4, column: 5 });
  });

  test('default "" counts as a default', () => {
    const a = only('agent "a" { config { x string default "" } }\n', 'agent');
    assert.equal(a.config?.params[0]?.hasDefault, true);
    assert.equal(a.config?.params[0]?.default, '');
  });

  test('validate rules: max_retries, message, multi-line when ending at the next rule', () => {
    const a = only(
      `agent "a" {
  validate {
    rule not_empty error max_retries 3
      "Must not be empty"
      when output != ""
        and length ( output ) > 2
    rule tone warning when input . text == "x"
    rule bare error
  }
}
`,
      'agent',
    );
    assert.deepEqual(values(a.validate?.rules), [
      { name: 'not_empty', severity: 'error', maxRetries: { value: 3, text: '3' }, message: { value: 'Must not be empty' }, when: { value: 'output != "" and length ( output ) > 2' } },
      { name: 'tone', severity: 'warning', when: { value: 'input.text == "x"' } },
      { name: 'bare', severity: 'error' },
    ]);
    assert.deepEqual(a.validate?.rules[0]?.pos, { line: 4, column: 5 });
  });

  test('eval cases: attributes until the next case, threshold after scoring, tags', () => {
    const a = only(
      `agent "a" {
  eval {
    case greet
      input "Hello"
      expect "Hi"
      scoring contains threshold 0.7
      tags ["a", "b"]
    case second input "x" expect "y" scoring semantic
  }
}
`,
      'agent',
    );
    assert.deepEqual(values(a.eval?.cases), [
      { name: 'greet', input: { value: 'Hello' }, expect: { value: 'Hi' }, scoring: { value: 'contains' }, threshold: { value: 0.7, text: '0.7' }, tags: { value: ['a', 'b'] } },
      { name: 'second', input: { value: 'x' }, expect: { value: 'y' }, scoring: { value: 'semantic' } },
    ]);
  });
});

describe('[3.0] on input', () => {
  test('use with params, delegate, respond, if / else if / else, for each', () => {
    const a = only(
      `agent "a" {
  on input {
    use skill search with { query: input . text, limit: 5
      mode: "fast" }
    use lookup
    delegate to helper
    delegate other
    respond "Hello there"
    respond input . name "!"
    if input == "hello" {
      respond "hi"
    } else if input contains "bye" {
      respond "bye"
    } else {
      delegate to fallback-agent
    }
    for each item in input . items {
      use skill process with { x: item }
    }
    for x in list {
    }
  }
}
`,
      'agent',
    );
    assert.deepEqual(values(a.onInput?.body), [
      {
        kind: 'use',
        hasSkillKeyword: true,
        skill: 'search',
        with: {
          params: [
            { key: 'query', value: 'input.text' },
            { key: 'limit', value: '5' },
            { key: 'mode', value: '"fast"' },
          ],
        },
      },
      { kind: 'use', hasSkillKeyword: false, skill: 'lookup' },
      { kind: 'delegate', hasTo: true, agent: 'helper' },
      { kind: 'delegate', hasTo: false, agent: 'other' },
      { kind: 'respond', expression: 'Hello there', quoted: true },
      { kind: 'respond', expression: 'input.name "!"', quoted: false },
      {
        kind: 'if',
        condition: 'input == "hello"',
        body: [{ kind: 'respond', expression: 'hi', quoted: true }],
        elseIfs: [{ condition: 'input contains "bye"', body: [{ kind: 'respond', expression: 'bye', quoted: true }] }],
        elseBody: [{ kind: 'delegate', hasTo: true, agent: 'fallback-agent' }],
      },
      {
        kind: 'for_each',
        hasEach: true,
        variable: 'item',
        collection: 'input.items',
        body: [{ kind: 'use', hasSkillKeyword: true, skill: 'process', with: { params: [{ key: 'x', value: 'item' }] } }],
      },
      { kind: 'for_each', hasEach: false, variable: 'x', collection: 'list', body: [] },
    ]);
    const ifStmt = a.onInput?.body[6];
    assert.ok(ifStmt?.kind === 'if');
    assert.deepEqual(ifStmt.pos, { line: 11, column: 5 });
    assert.deepEqual(ifStmt.elseIfs[0]?.pos, { line: 13, column: 7 });
    assert.deepEqual(ifStmt.elsePos, { line: 15, column: 7 });
    assert.equal(ifStmt.endLine, 17);
    assert.equal(a.onInput?.endLine, 23);
  });

  test('EXPR rebuild: strings re-wrapped without re-escaping, dots glued, parens spaced', () => {
    const a = only('agent "a" { validate { rule r error when not (output matches "\\\\d{3}") } }\n', 'agent');
    assert.equal(a.validate?.rules[0]?.when?.value, 'not ( output matches "\\d{3}" )');
  });

  test('EXPR sources escape strings so they lex back to the same tokens', () => {
    const a = only(
      String.raw`agent "a" {
  validate { rule r error when x == "a\"b" and y == "c\\d\q" }
  on input {
    use s with { p: "tab\there" }
    respond "quoted \"kept\""
    respond input . t == "x\ny"
    if v == "\\" { }
    else if w == "\"" { }
    for each i in items . "q\"" { }
  }
}
`,
      'agent',
    );
    const rule = a.validate?.rules[0];
    assert.equal(rule?.when?.value, String.raw`x == "a"b" and y == "c\d\q"`);
    // The source keeps each string as written (only raw newlines/tabs become \n / \t).
    assert.equal(rule?.whenSource, String.raw`x == "a\"b" and y == "c\\d\q"`);
    const [use, quoted, unquoted, ifs, forEach] = a.onInput?.body ?? [];
    assert.ok(use?.kind === 'use' && quoted?.kind === 'respond' && unquoted?.kind === 'respond');
    assert.ok(ifs?.kind === 'if' && forEach?.kind === 'for_each');
    assert.equal(use.with?.params[0]?.value, '"tab\there"');
    assert.equal(use.with?.params[0]?.valueSource, String.raw`"tab\there"`);
    assert.equal(quoted.expression, 'quoted "kept"');
    assert.equal(quoted.expressionSource, undefined);
    assert.equal(unquoted.expression, 'input.t == "x\ny"');
    assert.equal(unquoted.expressionSource, String.raw`input.t == "x\ny"`);
    assert.equal(ifs.conditionSource, String.raw`v == "\\"`);
    assert.equal(ifs.elseIfs[0]?.conditionSource, String.raw`w == "\""`);
    assert.equal(forEach.collectionSource, String.raw`items."q\""`);
    // Every source parses back to the same text.
    for (const src of [rule?.whenSource, unquoted.expressionSource, ifs.conditionSource]) {
      const again = only(`agent "b" { validate { rule r error when ${src ?? ''} } }\n`, 'agent');
      assert.equal(again.validate?.rules[0]?.whenSource, src);
    }
  });

  test('else may follow on the next line', () => {
    const a = only('agent "a" { on input {\n if x {\n }\n else {\n respond y\n }\n } }\n', 'agent');
    const s = a.onInput?.body[0];
    assert.ok(s?.kind === 'if');
    assert.equal(s.elseBody?.length, 1);
  });
});

describe('secret, environment, policy, binding', () => {
  test('secret sources', () => {
    const f = parseOk(HEADER + 'secret "a" { env(API_KEY) }\nsecret "b" { store("vault/path") }\nsecret "c" { env PLAIN }\nsecret "d" {\n  env(A)\n  store(B)\n}\n');
    assert.deepEqual(
      f.statements.map((s) => (s.kind === 'secret' ? values(s.source) : undefined)),
      [
        { source: 'env', key: 'API_KEY', parenthesized: true },
        { source: 'store', key: 'vault/path', parenthesized: true },
        { source: 'env', key: 'PLAIN', parenthesized: false },
        { source: 'store', key: 'B', parenthesized: true },
      ],
    );
  });

  test('environment overrides grouped by target', () => {
    const e = only(
      `environment "prod" {
  agent "bot" {
    model "big"
    max_turns ten
  }
  server "s" { transport sse }
}
`,
      'environment',
    );
    assert.deepEqual(values(e.targets), [
      { kindWord: 'agent', name: 'bot', attributes: [{ attribute: 'model', value: 'big' }, { attribute: 'max_turns', value: 'ten' }] },
      { kindWord: 'server', name: 's', attributes: [{ attribute: 'transport', value: 'sse' }] },
    ]);
    assert.deepEqual(e.targets[0]?.attributes[1]?.pos, { line: 5, column: 5 });
  });

  test('policy rules: resource is the first word, subject the rest joined by one space', () => {
    const p = only('policy "safety" {\n  deny model claude-haiku-latest\n  allow tool web search "now"\n  require\n  deny x }\n', 'policy');
    assert.deepEqual(values(p.rules), [
      { action: 'deny', resource: 'model', subject: 'claude-haiku-latest', words: ['model', 'claude-haiku-latest'] },
      { action: 'allow', resource: 'tool', subject: 'web search now', words: ['tool', 'web', 'search', 'now'] },
      { action: 'require', resource: '', subject: '', words: [] },
      { action: 'deny', resource: 'x', subject: '', words: ['x'] },
    ]);
  });

  test('binding: header adapter, bare default, config pairs', () => {
    const b = only('binding "local" adapter "local-mcp" {\n  default\n  port 8080\n  host "localhost"\n}\n', 'binding');
    assert.deepEqual(values(b), {
      kind: 'binding',
      name: 'local',
      config: [
        { key: 'port', value: '8080' },
        { key: 'host', value: 'localhost' },
      ],
      adapter: { value: 'local-mcp' },
      default: { value: true },
    });
    const b2 = only('binding "x" { adapter "docker" default false }\n', 'binding');
    assert.equal(b2.adapter?.value, 'docker');
    assert.equal(b2.default?.value, false);
  });
});

describe('deploy, server, client, pipeline, type', () => {
  test('deploy with every attribute; env and secrets merge', () => {
    const d = only(
      `deploy "k8s" target "kubernetes" {
  port 8080
  default true
  namespace "prod"
  replicas 3
  image "repo/img:1"
  resources { cpu "500m" memory "1Gi" }
  health { path "/healthz" interval "10s" timeout "2s" }
  autoscale { min 1 max 5 metric "cpu" target 80 }
  env { A "1" }
  env { B "2" }
  secrets { S "sec" }
}
`,
      'deploy',
    );
    assert.deepEqual(values(d), {
      kind: 'deploy',
      name: 'k8s',
      target: { value: 'kubernetes' },
      port: { value: 8080, text: '8080' },
      default: { value: true },
      namespace: { value: 'prod' },
      replicas: { value: 3, text: '3' },
      image: { value: 'repo/img:1' },
      resources: { cpu: { value: '500m' }, memory: { value: '1Gi' } },
      health: { path: { value: '/healthz' }, interval: { value: '10s' }, timeout: { value: '2s' } },
      autoscale: { min: { value: 1, text: '1' }, max: { value: 5, text: '5' }, metric: { value: 'cpu' }, target: { value: 80, text: '80' } },
      env: { entries: [{ key: 'A', value: '1' }, { key: 'B', value: '2' }] },
      secrets: { entries: [{ key: 'S', value: 'sec' }] },
    });
  });

  test('server and client', () => {
    const f = parseOk(
      HEADER +
        `server "s" {
  transport stdio
  command "npx"
  args ["-y", "pkg"]
  url "http://x"
  auth "tok"
  exposes skill "a"
  exposes "b"
  env { K "v" }
  metadata { m "n" }
}
client "c" {
  connects to server "s"
  connects "t"
  metadata { m "n" }
}
`,
    );
    assert.deepEqual(values(f.statements), [
      {
        kind: 'server',
        name: 's',
        exposes: [{ value: 'a' }, { value: 'b' }],
        transport: { value: 'stdio' },
        command: { value: 'npx' },
        args: { value: ['-y', 'pkg'] },
        url: { value: 'http://x' },
        auth: { value: 'tok' },
        env: { entries: [{ key: 'K', value: 'v' }] },
        metadata: { entries: [{ key: 'm', value: 'n' }] },
      },
      {
        kind: 'client',
        name: 'c',
        connects: [{ value: 's' }, { value: 't' }],
        metadata: { entries: [{ key: 'm', value: 'n' }] },
      },
    ]);
  });

  test('pipeline steps', () => {
    const p = only(
      `pipeline "review" {
  step "analyze" {
    agent "a"
    input "code"
    output "report"
  }
  step "fix" { agent "b" depends_on ["analyze"] parallel true when "report.bad" }
}
`,
      'pipeline',
    );
    assert.deepEqual(values(p.steps), [
      { name: 'analyze', agent: { value: 'a' }, input: { value: 'code' }, output: { value: 'report' } },
      { name: 'fix', agent: { value: 'b' }, dependsOn: { value: ['analyze'] }, parallel: { value: true }, when: { value: 'report.bad' } },
    ]);
    assert.deepEqual(p.steps[1]?.namePos, { line: 8, column: 8 });
  });

  test('type: fields, enum, list', () => {
    const f = parseOk(HEADER + 'type "user" {\n  name string required\n  active bool default "true"\n}\ntype "status" enum ["a", "b"]\ntype "one" enum "x"\ntype "tags" list string\n');
    assert.deepEqual(
      f.statements.map((s) => (s.kind === 'type' ? values(s.body) : undefined)),
      [
        { form: 'fields', fields: [{ name: 'name', type: 'string', required: true }, { name: 'active', type: 'bool', required: false, default: 'true' }] },
        { form: 'enum', values: ['a', 'b'] },
        { form: 'enum', values: ['x'] },
        { form: 'list', of: 'string' },
      ],
    );
  });
});

describe('file-level behaviour', () => {
  test('comments anywhere are collected and do not disturb the grammar', () => {
    const f = parseOk('# head\npackage "p" version "1" lang "2.0" // trailing\n\nagent "a" { # after brace\n  // own line\n  model "m" # end\n}\n');
    assert.deepEqual(
      f.comments.map((c) => [c.pos.line, c.text, c.trailing]),
      [
        [1, '# head', false],
        [2, '// trailing', true],
        [4, '# after brace', true],
        [5, '// own line', false],
        [6, '# end', true],
      ],
    );
  });

  test('statements keep source order and every statement kind is produced', () => {
    const f = parseOk(
      HEADER +
        'import "./x.ias"\nplugin "p"\nprompt "p" {}\nskill "s" {}\nagent "a" {}\nsecret "s" {}\nenvironment "e" {}\npolicy "p" {}\nbinding "b" {}\ndeploy "d" target "process" {}\nserver "s" {}\nclient "c" {}\npipeline "p" {}\ntype "t" {}\n',
    );
    assert.deepEqual(
      f.statements.map((s) => s.kind),
      ['import', 'plugin', 'prompt', 'skill', 'agent', 'secret', 'environment', 'policy', 'binding', 'deploy', 'server', 'client', 'pipeline', 'type'],
    );
  });

  test('same name in different kinds is fine', () => {
    const f = parseOk(HEADER + 'prompt "x" {}\nskill "x" {}\nagent "x" {}\n');
    assert.equal(f.statements.length, 3);
  });

  test('plan-execute is kept as written (lowering canonicalises)', () => {
    assert.equal(only('agent "a" { strategy "plan-execute" }\n', 'agent').strategy?.value, 'plan-execute');
  });

  test('a file without a trailing newline and with CRLF line ends parses', () => {
    const r = parse('package "p" version "1" lang "2.0"\r\nprompt "x" {\r\n  content "c"\r\n}', 'w.ias');
    assert.deepEqual(r.diagnostics, []);
    assert.equal(r.file.statements.length, 1);
  });

  test('empty input reports the missing header only', () => {
    assert.deepEqual(errs(''), [[1, 1, "expected 'package' declaration at start of file"]]);
  });
});
