import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileSpec } from '../../src/ir/compile.ts';
import { lowerFile } from '../../src/ir/lower.ts';
import { parse } from '../../src/lang/index.ts';
import { documentPolicyFindings, enforcePolicies, PolicyViolationError } from '../../src/validate/index.ts';
import { check, HEADER } from './check.ts';

const BASE =
  HEADER +
  'prompt "p" {\n  content "c"\n}\n' + // 2-4
  'skill "search" {\n  description "d"\n  input {\n    q string\n  }\n  output {\n    r string\n  }\n  tool http {\n    url "https://example.com"\n  }\n}\n' + // 5-16
  'agent "bot" {\n  uses prompt "p"\n  uses skill "search"\n  model "claude-haiku-latest"\n}\n'; // 17-21

const policy = (...rules: string[]): string => `policy "prod" {\n${rules.map((r) => `  ${r}\n`).join('')}}\n`; // starts at line 22

test('deny model: the agent using it is an error at its model line, naming the rule and where it is', () => {
  assert.deepEqual(check(BASE + policy('deny model claude-haiku-latest')), [
    't.ias:20:3: agent "bot": model "claude-haiku-latest" is denied by policy "prod" (deny model claude-haiku-latest, t.ias:23:3)',
  ]);
  assert.deepEqual(check(BASE + policy('deny model gpt-4o claude-opus')), []);
});

test('deny skill: each agent using it; deny tool: each skill of that tool type', () => {
  assert.deepEqual(check(BASE + policy('deny skill search')), [
    't.ias:19:3: agent "bot": skill "search" is denied by policy "prod" (deny skill search, t.ias:23:3)',
  ]);
  assert.deepEqual(check(BASE + policy('deny tool http inline')), [
    't.ias:13:3: skill "search": http tools are denied by policy "prod" (deny tool http inline, t.ias:23:3)',
  ]);
  assert.deepEqual(check(BASE + policy('deny tool shell')), [
    't.ias:23:3: policy "prod": rule "deny tool shell": "shell" is not a tool type',
  ]);
});

test('a quoted name may be a wildcard; allow lifts a deny, across policies of the package', () => {
  assert.equal(check(BASE + policy('deny model "claude-*"')).length, 1);
  assert.deepEqual(check(BASE + policy('deny model "claude-*"', 'allow model claude-haiku-latest')), []);
  assert.deepEqual(check(BASE + policy('deny model "*"') + 'policy "exceptions" {\n  allow model "claude-haiku-*"\n}\n'), []);
  // An allow alone forbids nothing.
  assert.deepEqual(check(BASE + policy('allow model gpt-4o')), []);
});

test('require: the named resource must be declared in the package', () => {
  assert.deepEqual(check(BASE + policy('require secret api-key', 'require skill search', 'require prompt p')), [
    't.ias:23:3: policy "prod": secret "api-key" is required (require secret api-key) but not declared',
  ]);
  assert.deepEqual(check(BASE + 'secret "api-key" {\n  env(API_KEY)\n}\n' + policy('require secret api-key')), []);
});

test('an unknown rule form is an error at the rule, with the forms there are', () => {
  const diags = check(BASE + policy('deny network all', 'require model gpt-4o', 'allow', 'deny model'));
  assert.deepEqual(diags, [
    't.ias:23:3: policy "prod": unknown rule "deny network all": no form of "deny" knows "network"',
    't.ias:24:3: policy "prod": unknown rule "require model gpt-4o": no form of "require" knows "model"',
    't.ias:25:3: policy "prod": unknown rule "allow": no form of "allow" says what it applies to',
    't.ias:26:3: policy "prod": rule "deny model" names no model',
  ]);
});

test('skills used from `on input` count as used', () => {
  const src = BASE.replace('  model "claude-haiku-latest"\n', '  model "claude-sonnet"\n  on input {\n    use skill search\n  }\n');
  assert.deepEqual(check(src + policy('deny skill search')), [
    't.ias:19:3: agent "bot": skill "search" is denied by policy "prod" (deny skill search, t.ias:26:3)',
    't.ias:22:5: agent "bot": skill "search" is denied by policy "prod" (deny skill search, t.ias:26:3)',
  ]);
});

test('IR documents: the same findings without positions; enforcePolicies refuses them', () => {
  const parsed = parse(BASE + policy('deny model claude-haiku-latest', 'allow network'), 't.ias');
  const doc = lowerFile(parsed.file, parsed.file.statements);
  assert.deepEqual(documentPolicyFindings(doc), [
    'package "p": policy "prod": unknown rule "allow network": no form of "allow" knows "network"',
    'package "p": agent "bot": model "claude-haiku-latest" is denied by policy "prod" (deny model claude-haiku-latest)',
  ]);
  assert.throws(() => enforcePolicies([doc]), (err: unknown) => err instanceof PolicyViolationError && err.code === 'E_POLICY_VIOLATION' && /deny model claude-haiku-latest/.test(err.message));
  const clean = parse(BASE, 't.ias');
  enforcePolicies([lowerFile(clean.file, clean.file.statements)]);
});

test('an environment whose overrides break a policy is reported at the environment', async () => {
  const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
  const os = await import('node:os');
  const path = await import('node:path');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'agentspec-policy-env-'));
  try {
    const file = path.join(dir, 'env.ias');
    const src = BASE.replace('claude-haiku-latest', 'claude-sonnet') + policy('deny model claude-haiku-latest') + 'environment "dev" {\n  agent "bot" {\n    model "claude-haiku-latest"\n  }\n}\n';
    await writeFile(file, src);
    assert.deepEqual((await compileSpec([file])).diagnostics, []);
    const withEnv = await compileSpec([file], { env: 'dev' });
    assert.deepEqual(withEnv.documents, []);
    assert.deepEqual(
      withEnv.diagnostics.map((d) => `${d.line}:${d.column}: ${d.message}`),
      ['25:1: with environment "dev": package "p": agent "bot": model "claude-haiku-latest" is denied by policy "prod" (deny model claude-haiku-latest)'],
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
