import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from '../../src/lang/index.ts';
import { checkRunnable, type RunnableOptions } from '../../src/validate/index.ts';
import { HEADER } from './check.ts';

function run(source: string, opts: RunnableOptions = {}): { errors: string[]; warnings: string[] } {
  const parsed = parse(source, 't.ias');
  assert.deepEqual(parsed.diagnostics, []);
  const r = checkRunnable({ file: parsed.file, statements: parsed.file.statements }, opts);
  const show = (d: { line: number; column: number; message: string; severity: string }): string => `${d.line}:${d.column}: ${d.severity}: ${d.message}`;
  return { errors: r.errors.map(show), warnings: r.warnings.map(show) };
}

const agent = (model: string, extra = ''): string => `agent "a" {\n  uses prompt "p"\n  model "${model}"\n${extra}}\n`;

test('a model no provider serves, or an unknown provider prefix, is an error at the model', () => {
  assert.deepEqual(run(HEADER + agent('llama-3')).errors, ['4:9: error: agent "a": unknown model "llama-3": no provider serves it']);
  assert.deepEqual(run(HEADER + agent('mistral/large')).errors, ['4:9: error: agent "a": unknown provider "mistral" in model "mistral/large"']);
  for (const ok of ['claude-sonnet-4-20250514', 'gpt-4o', 'o3-mini', 'ollama/llama3', 'openai/my-model', 'echo']) assert.deepEqual(run(HEADER + agent(ok)).errors, [], ok);
});

test('a memory block the runtime cannot use is an error', () => {
  assert.deepEqual(run(HEADER + agent('echo', '  memory {\n    strategy "forever"\n    max_messages 0\n  }\n')).errors, [
    '6:14: error: agent "a": memory strategy "forever" is not one of sliding_window, summary',
    '7:18: error: agent "a": memory max_messages must be a positive integer, got 0',
  ]);
  assert.deepEqual(run(HEADER + agent('echo', '  memory {\n    strategy "summary"\n    max_messages 12\n  }\n')).errors, []);
});

test('the deploy target apply would use must be deployable; the others are warnings', () => {
  const src = HEADER + 'deploy "local" target "process" {\n  default true\n}\ndeploy "k8s" target "kubernetes" {\n}\nbinding "b" adapter "nomad" {\n}\n';
  // Bindings come first (REFERENCE 3.7): the only binding is what apply deploys with.
  assert.deepEqual(run(src, { deploy: {} }), {
    errors: ['7:21: error: binding "b": unknown adapter "nomad" (known: local-mcp, process, docker, docker-compose, kubernetes)'],
    warnings: ['5:21: warning: deploy target "k8s": adapter "kubernetes" is not supported yet: apply deploys only with local-mcp, process'],
  });
  assert.deepEqual(run(src, { deploy: { target: 'local' } }).errors, []);
  assert.deepEqual(run(src, { deploy: { target: 'k8s' } }).errors, ['5:21: error: deploy target "k8s": adapter "kubernetes" is not supported yet: apply deploys only with local-mcp, process']);
  // Commands that only serve the spec do not look at deploy targets.
  assert.deepEqual(run(src), { errors: [], warnings: [] });
});

test('a command binary or stdio server command not on PATH is a warning, not an error', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'agentspec-path-'));
  try {
    const bin = path.join(dir, 'my-tool');
    writeFileSync(bin, '#!/bin/sh\n');
    chmodSync(bin, 0o755);
    const src =
      HEADER +
      'skill "s" {\n  description "d"\n  input {\n    a string\n  }\n  output {\n    b string\n  }\n  tool command {\n    binary "my-tool"\n  }\n}\n' +
      'server "srv" {\n  transport "stdio"\n  command "my-server"\n}\n';
    assert.deepEqual(run(src, { env: { PATH: '/nonexistent' } }), {
      errors: [],
      warnings: ['11:12: warning: skill "s": binary "my-tool" is not on PATH here', '16:11: warning: server "srv": command "my-server" is not on PATH here'],
    });
    assert.deepEqual(run(src, { env: { PATH: dir } }).warnings, ['16:11: warning: server "srv": command "my-server" is not on PATH here']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
