import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from '../../src/lang/index.ts';
import { lowerFile } from '../../src/ir/lower.ts';
import { applyEnvironment } from '../../src/ir/environment.ts';
import { contentHash } from '../../src/ir/hash.ts';
import { EnvironmentNotFoundError, EnvironmentOverrideError } from '../../src/ir/errors.ts';
import type { IRDocument, Resource } from '../../src/ir/types.ts';

const BASE = `package "env" version "1" lang "3.0"
prompt "p" {
  content "x"
}
agent "bot" {
  uses prompt "p"
  model "small"
  max_turns 5
  temperature 0.5
  stream true
}
server "files" {
  transport "stdio"
  command "fs"
}
client "c" {
  connects to server "files"
}
`;

function doc(extra: string): IRDocument {
  const parsed = parse(BASE + extra, 'env.ias');
  assert.deepEqual(parsed.diagnostics, []);
  return lowerFile(parsed.file);
}

function get(d: IRDocument, fqn: string): Resource {
  const r = d.resources?.find((x) => x.fqn === fqn);
  assert.ok(r !== undefined, `no ${fqn}`);
  return r;
}

const PROD = `environment "prod" {
  agent "bot" {
    model "large"
    max_turns "12"
    temperature "1.5"
    stream "false"
    region "eu"
  }
  server "files" {
    command "fs-prod"
  }
  client "c" {
    note "x"
  }
}
environment "dev" {
  agent "bot" {
    model "tiny"
  }
}
`;

test('no environment name: the document is unchanged, Environment resources stay', () => {
  const d = doc(PROD);
  assert.equal(applyEnvironment(d, undefined), d);
  assert.equal(applyEnvironment(d, ''), d);
  assert.ok(d.resources?.some((r) => r.kind === 'Environment'));
});

test('overrides keep the type of the attribute they replace; new keys are strings; hashes recomputed', () => {
  const d = doc(PROD);
  const before = get(d, 'env/Agent/bot');
  const out = applyEnvironment(d, 'prod');
  const bot = get(out, 'env/Agent/bot');
  assert.deepEqual(bot.attributes, {
    max_turns: 12,
    model: 'large',
    prompt: 'p',
    region: 'eu',
    stream: false,
    temperature: 1.5,
  });
  assert.equal(typeof bot.attributes.max_turns, 'number');
  assert.equal(bot.hash, contentHash(bot.attributes));
  assert.notEqual(bot.hash, before.hash);
  // The input document is not modified.
  assert.equal(before.attributes.model, 'small');
  assert.equal(before.attributes.max_turns, 5);
});

test('server/NAME and client/NAME target MCPServer and MCPClient', () => {
  const out = applyEnvironment(doc(PROD), 'prod');
  const files = get(out, 'env/MCPServer/files');
  assert.equal(files.attributes.command, 'fs-prod');
  assert.equal(files.hash, contentHash(files.attributes));
  assert.equal(get(out, 'env/MCPClient/c').attributes.note, 'x');
});

test('Environment resources are removed; untouched resources keep their hash', () => {
  const d = doc(PROD);
  const out = applyEnvironment(d, 'dev');
  assert.deepEqual(
    out.resources?.map((r) => r.fqn),
    ['env/Agent/bot', 'env/MCPClient/c', 'env/MCPServer/files', 'env/Prompt/p'],
  );
  assert.equal(get(out, 'env/Prompt/p').hash, get(d, 'env/Prompt/p').hash);
  assert.equal(get(out, 'env/Agent/bot').attributes.model, 'tiny');
  assert.equal(get(out, 'env/Agent/bot').attributes.max_turns, 5);
});

test('a temperature written as 1 still takes a fractional override (it is a float attribute)', () => {
  const src = `environment "warm" {\n  agent "bot" {\n    temperature "0.25"\n  }\n}\n`;
  const d = doc(src);
  const bot = get(d, 'env/Agent/bot');
  bot.attributes.temperature = 1;
  assert.equal(get(applyEnvironment(d, 'warm'), 'env/Agent/bot').attributes.temperature, 0.25);
});

test('unknown environment', () => {
  assert.throws(
    () => applyEnvironment(doc(PROD), 'staging'),
    (err: unknown) =>
      err instanceof EnvironmentNotFoundError &&
      err.code === 'E_ENV_NOT_FOUND' &&
      err.message === 'environment "staging" not found (available: dev, prod)',
  );
});

test('unknown override target', () => {
  const d = doc(`environment "bad" {\n  agent "nobody" {\n    model "x"\n  }\n}\n`);
  assert.throws(
    () => applyEnvironment(d, 'bad'),
    (err: unknown) =>
      err instanceof EnvironmentOverrideError && err.message === 'environment "bad": override target "agent/nobody" not found',
  );
});

test('a value that does not convert names the environment, target, attribute and value', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['max_turns', 'many', /environment "e": override agent\/bot max_turns: value "many" is not an integer/],
    ['max_turns', '1.5', /value "1\.5" is not an integer/],
    ['stream', 'yes', /value "yes" is not a bool \(true or false\)/],
    ['temperature', 'hot', /value "hot" is not a number/],
  ];
  for (const [attribute, value, message] of cases) {
    const d = doc(`environment "e" {\n  agent "bot" {\n    ${attribute} "${value}"\n  }\n}\n`);
    assert.throws(
      () => applyEnvironment(d, 'e'),
      (err: unknown) =>
        err instanceof EnvironmentOverrideError &&
        message.test(err.message) &&
        err.environment === 'e' &&
        err.target === 'agent/bot' &&
        err.attribute === attribute &&
        err.value === value,
      `${attribute}=${value}`,
    );
  }
});

test('a list attribute cannot be replaced by one value', () => {
  const d = doc(`environment "e" {\n  client "c" {\n    servers "other"\n  }\n}\n`);
  assert.throws(() => applyEnvironment(d, 'e'), /value "other" cannot replace a list attribute/);
});

test('target matching is case-insensitive (Agent/bot as written by the kind name)', () => {
  const d = doc('');
  const env: Resource = {
    kind: 'Environment',
    name: 'x',
    fqn: 'env/Environment/x',
    attributes: { name: 'x', overrides: [{ resource: 'AGENT/BOT', attribute: 'model', value: 'm2' }, { resource: 'mcpserver/files', attribute: 'command', value: 'c2' }] },
    hash: '',
  };
  const out = applyEnvironment({ ...d, resources: [...(d.resources ?? []), env] }, 'x');
  assert.equal(get(out, 'env/Agent/bot').attributes.model, 'm2');
  assert.equal(get(out, 'env/MCPServer/files').attributes.command, 'c2');
});

test('an environment-only document ends with resources null', () => {
  const parsed = parse('package "e" version "1" lang "3.0"\nenvironment "only" {\n}\n', 'e.ias');
  assert.equal(applyEnvironment(lowerFile(parsed.file), 'only').resources, null);
});
