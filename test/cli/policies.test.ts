import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../helpers/cli.ts';

const spec = (policy: string, model = 'echo', deploy = 'deploy "local" target "process" {\n  default true\n}\n'): string => `package "guarded" version "0.1.0" lang "2.0"

prompt "system" {
  content "You are a test bot."
}

agent "bot" {
  uses prompt "system"
  model "${model}"
}

policy "guard" {
  ${policy}
}

${deploy}`;

// The model line is 9, the rule line 13 (column 3).
const DENIED = 'spec.ias:9:3: error: agent "bot": model "echo" is denied by policy "guard" (deny model echo, spec.ias:13:3)';

describe('policies and checks before anything runs (real CLI processes)', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'agentspec-policies-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const write = (text: string, name = 'spec.ias'): Promise<void> => writeFile(path.join(dir, name), text);
  const cli = (args: string[]): ReturnType<typeof runCli> => runCli(args, { cwd: dir, timeoutMs: 60_000 });

  test('validate, plan, apply and run each refuse a spec that breaks its policy, naming the rule and FILE:LINE', async () => {
    await write(spec('deny model echo'));
    for (const args of [['validate', 'spec.ias'], ['plan', 'spec.ias'], ['apply', '--auto-approve', 'spec.ias'], ['run', '--port', '0', 'spec.ias']]) {
      const r = await cli(args);
      assert.equal(r.code, 1, `${args[0]}: ${r.stderr}`);
      assert.ok(r.stderr.includes(DENIED), `${args[0]}:\n${r.stderr}`);
      assert.doesNotMatch(r.stdout, /listening on/);
    }
    assert.equal(existsSync(path.join(dir, '.agentspec.state.json')), false, 'apply wrote no state');
  });

  test('run refuses an IR snapshot that breaks its policy (it was never validated), naming the rule', async () => {
    await write(spec('deny model echo'));
    const ir = await cli(['ir', 'spec.ias']);
    // `ir` validates too, so lower a clean spec and add the policy to the snapshot afterwards.
    assert.equal(ir.code, 1);
    await write(spec('allow model echo'));
    const clean = await cli(['ir', 'spec.ias']);
    assert.equal(clean.code, 0, clean.stderr);
    const doc = JSON.parse(clean.stdout) as { policies: Array<{ rules: Array<{ action: string }> }> };
    doc.policies[0]!.rules[0]!.action = 'deny';
    await writeFile(path.join(dir, 'snap.json'), JSON.stringify(doc));
    const r = await cli(['run', '--port', '0', '--ir', 'snap.json']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /the spec breaks its policies; nothing was started/);
    assert.match(r.stderr, /agent "bot": model "echo" is denied by policy "guard" \(deny model echo\)/);
    assert.doesNotMatch(r.stdout, /listening on/);
  });

  test('an unknown rule form is an error, not ignored', async () => {
    await write(spec('deny network all'));
    const r = await cli(['validate', 'spec.ias']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^spec\.ias:13:3: error: policy "guard": unknown rule "deny network all": no form of "deny" knows "network"$/m);
    const p = await cli(['plan', 'spec.ias']);
    assert.equal(p.code, 1);
    assert.match(p.stderr, /spec\.ias:13:3: error: policy "guard": unknown rule "deny network all"/);
  });

  test('validate and plan catch an unknown model and an undeployable target with FILE:LINE, before any runtime starts', async () => {
    await write(spec('allow model llama-3', 'llama-3'));
    for (const cmd of ['validate', 'plan']) {
      const r = await cli([cmd, 'spec.ias']);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /spec\.ias:9:9: error: agent "bot": unknown model "llama-3": no provider serves it/);
    }
    await write(spec('allow model echo', 'echo', 'deploy "cluster" target "kubernetes" {\n}\n'));
    for (const cmd of ['validate', 'plan']) {
      const r = await cli([cmd, 'spec.ias']);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /spec\.ias:16:25: error: deploy target "cluster": adapter "kubernetes" is not supported yet/);
    }
    // With another target chosen, the kubernetes one is only a warning.
    await write(spec('allow model echo', 'echo', 'deploy "local" target "process" {\n}\ndeploy "cluster" target "kubernetes" {\n}\n'));
    const chosen = await cli(['plan', '--target', 'local', 'spec.ias']);
    assert.equal(chosen.code, 0, chosen.stderr);
    assert.match(chosen.stderr, /spec\.ias:18:25: warning: deploy target "cluster"/);
    const other = await cli(['plan', '--target', 'cluster', 'spec.ias']);
    assert.equal(other.code, 1);
    assert.match(other.stderr, /spec\.ias:18:25: error: deploy target "cluster"/);
  });

  test('a command binary not on PATH is a printed warning; validate still succeeds', async () => {
    await write(spec('allow model echo').replace('agent "bot" {', 'skill "s" {\n  description "d"\n  input {\n    a string\n  }\n  output {\n    b string\n  }\n  tool command {\n    binary "surely-not-installed-tool"\n  }\n}\n\nagent "bot" {'));
    const r = await cli(['validate', 'spec.ias']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '✓ 1 file(s) valid\n');
    assert.match(r.stderr, /^spec\.ias:16:12: warning: skill "s": binary "surely-not-installed-tool" is not on PATH here$/m);
    const json = await cli(['validate', '--format', 'json', 'spec.ias']);
    assert.equal(json.code, 0);
    assert.deepEqual((JSON.parse(json.stderr) as Array<Record<string, unknown>>).map((d) => [d.line, d.severity]), [[16, 'warning']]);
  });
});
