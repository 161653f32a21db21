import { test } from 'node:test';
import assert from 'node:assert/strict';
import { format, parse } from '../../src/lang/index.ts';
import { lowerFile } from '../../src/ir/lower.ts';
import { validateFile } from '../../src/validate/index.ts';

const spec = (extra: string): string => `package "busy" version "0.1.0" lang "2.0"

prompt "p" {
  content "hi"
}

agent "a" {
  uses prompt "p"
  model "echo"${extra}
}
`;

function agentOf(source: string): { attributes: Record<string, unknown>; hash: string } {
  const parsed = parse(source, 'busy.ias');
  assert.deepEqual(parsed.diagnostics, []);
  const agent = lowerFile(parsed.file).resources?.find((r) => r.kind === 'Agent');
  assert.ok(agent !== undefined);
  return agent;
}

test('on_busy: parsed, lowered as on_busy, formatted back; absent it changes nothing', () => {
  const plain = agentOf(spec(''));
  assert.equal('on_busy' in plain.attributes, false);
  for (const mode of ['enqueue', 'reject', 'interrupt']) {
    const source = spec(`\n  on_busy "${mode}"`);
    const busy = agentOf(source);
    assert.equal(busy.attributes.on_busy, mode);
    assert.notEqual(busy.hash, plain.hash);
    const parsed = parse(source, 'busy.ias');
    assert.equal(format(parsed.file), source, 'canonical form keeps it');
    assert.deepEqual(validateFile(parsed.file), []);
  }
});

test('on_busy: a value that is not a busy mode is a diagnostic at the attribute, with the valid ones', () => {
  const parsed = parse(spec('\n  on_busy "later"'), 'busy.ias');
  const diags = validateFile(parsed.file);
  assert.equal(diags.length, 1);
  assert.match(diags[0]!.message, /invalid on_busy "later"/);
  assert.equal(diags[0]!.line, 10);
  assert.match(String(diags[0]!.hint), /enqueue, reject, interrupt/);
});
