import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from '../../src/lang/index.ts';
import { lowerFile } from '../../src/ir/lower.ts';
import { adapterForDeployTarget, selectBinding, selectTarget } from '../../src/ir/target.ts';
import { NoDeployTargetError } from '../../src/ir/errors.ts';
import type { IRDocument } from '../../src/ir/types.ts';

function doc(body: string): IRDocument {
  const parsed = parse('package "t" version "1" lang "3.0"\n' + body, 't.ias');
  assert.deepEqual(parsed.diagnostics, []);
  return lowerFile(parsed.file);
}

const deploy = (name: string, target: string, isDefault = false): string =>
  `deploy "${name}" target "${target}" {\n${isDefault ? '  default true\n' : ''}}\n`;
const binding = (name: string, adapter: string, isDefault = false): string =>
  `binding "${name}" adapter "${adapter}" {\n${isDefault ? '  default true\n' : ''}}\n`;

test('bindings first: by name, else the first default, else the only one', () => {
  const d = doc(binding('a', 'docker') + binding('b', 'kubernetes', true) + binding('c', 'local-mcp', true) + deploy('local', 'process', true));
  assert.deepEqual(selectTarget(d), { source: 'binding', name: 'b', adapter: 'kubernetes', binding: d.bindings?.[1] });
  assert.equal(selectTarget(d, 'a').name, 'a');
  assert.equal(selectBinding(d)?.name, 'b');
  const only = doc(binding('solo', 'docker') + deploy('local', 'process', true));
  assert.equal(selectTarget(only).name, 'solo');
});

test('falls back to deploy targets with the same rule; --target may name a deploy target', () => {
  const d = doc(binding('x', 'docker') + binding('y', 'docker') + deploy('local', 'process') + deploy('ci', 'docker-compose', true));
  // Two bindings, no default: no binding is chosen, so the default deploy target is.
  const chosen = selectTarget(d);
  assert.equal(chosen.source, 'deploy');
  assert.equal(chosen.name, 'ci');
  assert.equal(chosen.adapter, 'docker-compose');
  const local = selectTarget(d, 'local');
  assert.equal(local.name, 'local');
  assert.equal(local.adapter, 'local-mcp');
  assert.equal(selectBinding(d), undefined);
});

test('adapter names for deploy targets', () => {
  assert.equal(adapterForDeployTarget('process'), 'local-mcp');
  assert.equal(adapterForDeployTarget('docker-compose'), 'docker-compose');
  assert.equal(adapterForDeployTarget('docker'), 'docker');
  assert.equal(adapterForDeployTarget('kubernetes'), 'kubernetes');
});

test('nothing to choose: a clear error', () => {
  assert.throws(
    () => selectTarget(doc('')),
    (err: unknown) => err instanceof NoDeployTargetError && err.message === 'no deploy target found (use --target to specify)',
  );
  const two = doc(deploy('a', 'process') + deploy('b', 'docker'));
  assert.throws(() => selectTarget(two), /no deploy target found \(use --target to specify; available: a, b\)/);
  assert.throws(
    () => selectTarget(two, 'c'),
    (err: unknown) => err instanceof NoDeployTargetError && err.requested === 'c' && /named "c" \(available: a, b\)/.test(err.message),
  );
});
