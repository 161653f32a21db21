import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from '../../src/lang/index.ts';
import { validateFile } from '../../src/validate/index.ts';
import { check, hintOf, HEADER } from './check.ts';

const PROMPT = 'prompt "p" {\n  content "x"\n}\n';

describe('header', () => {
  test('package version and lang are required, at the package keyword', () => {
    assert.deepEqual(check('package "p"\n'), [
      't.ias:1:1: package version is required',
      't.ias:1:1: lang version is required',
    ]);
    assert.deepEqual(check('\n\npackage "" version "1" lang "3.0"\n'), ['t.ias:3:1: package name is required']);
  });
});

describe('agent', () => {
  test('prompt, model, strategy, on_error, fallback, temperature (all at the agent keyword)', () => {
    const src = HEADER + 'agent "a" {\n  strategy "bogus"\n  on_error "fallback"\n  temperature 2.5\n}\n';
    assert.deepEqual(check(src), [
      't.ias:2:1: agent "a" requires a prompt reference',
      't.ias:2:1: agent "a" requires a model',
      't.ias:2:1: agent "a" has invalid strategy "bogus"',
      't.ias:2:1: agent "a" uses on_error "fallback" but no fallback agent specified',
      't.ias:2:1: agent "a" has temperature 2.5 out of range [0, 2]',
    ]);
  });

  test('invalid on_error value; negative temperature printed with one decimal', () => {
    const src = HEADER + PROMPT + '  agent "a" {\n  uses prompt "p"\n  model "m"\n  on_error "explode"\n  temperature -0.25\n}\n';
    assert.deepEqual(check(src), [
      't.ias:5:3: agent "a" has invalid on_error "explode"',
      't.ias:5:3: agent "a" has temperature -0.2 out of range [0, 2]',
    ]);
  });

  test('plan-execute is accepted as an alias of plan-and-execute; every valid strategy passes', () => {
    for (const strategy of ['plan-execute', 'react', 'plan-and-execute', 'reflexion', 'router', 'map-reduce']) {
      const src = HEADER + PROMPT + `agent "a" {\n  uses prompt "p"\n  model "m"\n  strategy "${strategy}"\n  temperature 2\n}\n`;
      assert.deepEqual(check(src), [], strategy);
    }
  });

  test('the invalid strategy hint lists the valid ones', () => {
    const src = HEADER + PROMPT + 'agent "a" {\n  uses prompt "p"\n  model "m"\n  strategy "x"\n}\n';
    assert.equal(hintOf(src), 'valid strategies: react, plan-and-execute, reflexion, router, map-reduce');
  });

  test('[3.0] config params: type, secret with default (at the param name)', () => {
    const src =
      HEADER +
      PROMPT +
      'agent "a" {\n  uses prompt "p"\n  model "m"\n  config {\n    size integer default "1"\n    key string secret default "k"\n    ok bool default false\n  }\n}\n';
    assert.deepEqual(check(src), [
      't.ias:9:5: config parameter "size" has invalid type "integer"',
      't.ias:10:5: config parameter "key" is secret and cannot have a default',
    ]);
  });

  test('[3.0] validation rules: severity, negative max_retries, missing when (at the rule name)', () => {
    const src =
      HEADER +
      PROMPT +
      'agent "a" {\n  uses prompt "p"\n  model "m"\n  validate {\n    rule r1 fatal\n      when output != ""\n    rule r2 error max_retries -1\n      when true\n    rule r3 warning\n      "no condition"\n  }\n}\n';
    assert.deepEqual(check(src), [
      't.ias:9:10: validation rule "r1" has invalid severity "fatal"',
      't.ias:11:10: validation rule "r2" has negative max_retries -1',
      't.ias:13:10: validation rule "r3" requires a \'when\' expression',
    ]);
  });

  test('[3.0] eval cases: input, expect, scoring, threshold (at the case name)', () => {
    const src =
      HEADER +
      PROMPT +
      'agent "a" {\n  uses prompt "p"\n  model "m"\n  eval {\n    case c1\n      scoring fuzzy threshold 1.5\n    case c2\n      input "i"\n      expect "e"\n      scoring exact threshold 1\n  }\n}\n';
    assert.deepEqual(check(src), [
      't.ias:9:10: eval case "c1" requires an input',
      't.ias:9:10: eval case "c1" requires an expected output',
      't.ias:9:10: eval case "c1" has invalid scoring "fuzzy"',
      't.ias:9:10: eval case "c1" has threshold 1.5 out of range [0, 1]',
    ]);
  });

  test('[3.0] on input: respond needs an expression, recursively inside if/else/for', () => {
    const src =
      HEADER +
      PROMPT +
      'skill "s" {\n  description "d"\n  input {\n    q string\n  }\n  output {\n    a string\n  }\n  tool command {\n    binary "b"\n  }\n}\n' +
      'agent "a" {\n  uses prompt "p"\n  model "m"\n  on input {\n    if input == "x" {\n      respond ""\n    } else {\n      for each item in input.items {\n        respond ""\n      }\n    }\n  }\n}\n';
    assert.deepEqual(check(src), [
      't.ias:22:7: respond statement requires an expression',
      't.ias:25:9: respond statement requires an expression',
    ]);
  });
});

describe('prompt and skill', () => {
  test('prompt requires content', () => {
    assert.deepEqual(check(HEADER + '\nprompt "p" {\n  content ""\n}\n'), ['t.ias:3:1: prompt "p" requires content']);
    assert.deepEqual(check(HEADER + 'prompt "p" {\n}\n'), ['t.ias:2:1: prompt "p" requires content']);
  });

  test('skill requires description, input, output and a tool or execution', () => {
    assert.deepEqual(check(HEADER + 'skill "s" {\n}\n'), [
      't.ias:2:1: skill "s" requires a description',
      't.ias:2:1: skill "s" requires an input schema',
      't.ias:2:1: skill "s" requires an output schema',
      't.ias:2:1: skill "s" requires an execution or tool block',
    ]);
  });

  test('tool and execution together is an error', () => {
    const src =
      HEADER +
      'skill "s" {\n  description "d"\n  input {\n    q string\n  }\n  output {\n    a string\n  }\n  execution command "x"\n  tool command {\n    binary "b"\n  }\n}\n';
    assert.deepEqual(check(src), ['t.ias:2:1: skill "s" has both execution and tool blocks']);
  });

  test('the legacy execution form alone is valid', () => {
    const src = HEADER + 'skill "s" {\n  description "d"\n  input {\n    q string\n  }\n  output {\n    a string\n  }\n  execution command "x"\n}\n';
    assert.deepEqual(check(src), []);
  });
});

describe('server, client, secret, binding, deploy', () => {
  test('server transport rules', () => {
    assert.deepEqual(check(HEADER + 'server "s" {\n}\n'), ['t.ias:2:1: server "s" requires a transport']);
    assert.deepEqual(check(HEADER + 'server "s" {\n  transport "stdio"\n}\n'), ['t.ias:2:1: server "s" with stdio transport requires a command']);
    assert.deepEqual(check(HEADER + 'server "s" {\n  transport "sse"\n}\n'), ['t.ias:2:1: server "s" with sse transport requires a url']);
    assert.deepEqual(check(HEADER + 'server "s" {\n  transport "streamable-http"\n}\n'), [
      't.ias:2:1: server "s" with streamable-http transport requires a url',
    ]);
    // Other transport strings are accepted silently.
    assert.deepEqual(check(HEADER + 'server "s" {\n  transport "websocket"\n}\n'), []);
  });

  test('client needs a connection', () => {
    assert.deepEqual(check(HEADER + 'client "c" {\n}\n'), ['t.ias:2:1: client "c" requires at least one server connection']);
  });

  test('secret needs source and key', () => {
    assert.deepEqual(check(HEADER + 'secret "k" {\n}\n'), [
      't.ias:2:1: secret "k" requires a source (env or store)',
      't.ias:2:1: secret "k" requires a key',
    ]);
  });

  test('binding needs an adapter', () => {
    assert.deepEqual(check(HEADER + 'binding "b" {\n  region "eu"\n}\n'), ['t.ias:2:1: binding "b" requires an adapter']);
    assert.deepEqual(check(HEADER + 'binding "b" adapter "local-mcp" {\n}\n'), []);
  });

  test('deploy target must be a known type', () => {
    assert.deepEqual(check(HEADER + 'deploy "d" target "lambda" {\n}\n'), ['t.ias:2:1: deploy "d" has invalid target type "lambda"']);
    for (const t of ['process', 'docker', 'docker-compose', 'kubernetes']) {
      assert.deepEqual(check(HEADER + `deploy "d" target "${t}" {\n}\n`), [], t);
    }
    assert.deepEqual(check(HEADER + 'deploy "d" target "" {\n}\n'), ['t.ias:2:1: deploy "d" requires a target type']);
  });
});

describe('type and pipeline', () => {
  test('a type needs fields, enum values or a list type', () => {
    assert.deepEqual(check(HEADER + 'type "t" enum []\n'), ['t.ias:2:1: type "t" must have fields, enum values, or list type']);
    assert.deepEqual(check(HEADER + 'type "t" {\n}\n'), ['t.ias:2:1: type "t" must have fields, enum values, or list type']);
  });

  test('pipeline needs steps', () => {
    assert.deepEqual(check(HEADER + 'pipeline "x" {\n}\n'), ['t.ias:2:1: pipeline "x" requires at least one step']);
  });

  test('steps: duplicate name, missing agent, unknown and self dependencies (at the step name)', () => {
    const agent = PROMPT + 'agent "a" {\n  uses prompt "p"\n  model "m"\n}\n';
    const src =
      HEADER +
      agent +
      'pipeline "x" {\n  step "one" {\n    agent "a"\n  }\n  step "one" {\n    agent "a"\n  }\n  step "two" {\n    depends_on ["one", "zero", "two"]\n  }\n}\n';
    assert.deepEqual(check(src), [
      't.ias:13:8: duplicate step name "one" in pipeline "x"',
      't.ias:16:8: step "two" requires an agent',
      't.ias:16:8: step "two" depends_on unknown step "zero"',
      't.ias:16:8: step "two" cannot depend on itself',
    ]);
  });
});

describe('names and positions of sub-items', () => {
  test('empty names of config params, rules, eval cases, steps and type fields (at that item)', () => {
    const src =
      HEADER +
      PROMPT +
      'agent "a" {\n  uses prompt "p"\n  model "m"\n  validate {\n    rule "" error\n      when true\n  }\n  eval {\n    case ""\n      input "i"\n      expect "e"\n  }\n  config {\n    "" string\n  }\n}\n' +
      'pipeline "x" {\n  step "" {\n    agent "a"\n  }\n}\n' +
      'type "t" {\n  "" string\n}\n';
    assert.deepEqual(check(src), [
      't.ias:18:5: config parameter name is required',
      't.ias:9:10: validation rule name is required',
      't.ias:13:10: eval case name is required',
      't.ias:22:8: step name is required',
      't.ias:27:3: type field name is required',
    ]);
  });

  test('import path is required', () => {
    assert.deepEqual(check(HEADER + '\nimport ""\n'), ['t.ias:3:1: import path is required']);
  });
});

describe('files the parser already complained about', () => {
  test('invalid tool type is reported at the word after `tool`', () => {
    const src = HEADER + 'skill "s" {\n  description "d"\n  input {\n    q string\n  }\n  output {\n    a string\n  }\n  tool grpc "x"\n}\n';
    const parsed = parse(src, 't.ias');
    assert.ok(parsed.diagnostics.length > 0, 'the parser reports the unknown tool type too');
    assert.deepEqual(
      validateFile(parsed.file).map((d) => `${d.line}:${d.column}: ${d.message}`),
      ['10:8: skill "s" has invalid tool type "grpc"'],
    );
  });

  test('a file without a header: missing package declaration at 1:1', () => {
    const parsed = parse('\nprompt "p" {\n  content "x"\n}\n', 't.ias');
    const diags = validateFile(parsed.file);
    assert.deepEqual(diags.map((d) => `${d.line}:${d.column}: ${d.message}`), ['1:1: missing package declaration']);
    assert.match(diags[0]?.hint ?? '', /^add 'package "name" version "x\.y\.z" lang "3\.0"' at the start$/);
  });
});
