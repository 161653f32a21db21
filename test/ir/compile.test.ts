import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { checkSpec, compileSpec, SpecInvalidError } from '../../src/ir/compile.ts';
import type { Diagnostic } from '../../src/lang/diagnostics.ts';

let dir: string;

async function write(rel: string, text: string): Promise<string> {
  const p = path.join(dir, rel);
  await mkdir(path.dirname(p), { recursive: true });
  await writeFile(p, text);
  return p;
}

function where(d: Diagnostic): string {
  return `${path.basename(d.file)}:${d.line}:${d.column}: ${d.message}`;
}

const LIB = `package "lib" version "0.1.0" lang "3.0"
prompt "shared" {
  content "shared prompt"
}
skill "lookup" {
  description "Look up"
  input {
    q string
  }
  output {
    a string
  }
  tool command {
    binary "lookup"
  }
}
`;

const APP = `package "app" version "1.0.0" lang "3.0"
import "./lib/index.ias" as lib
agent "bot" {
  uses prompt "shared"
  uses skill "lookup"
  model "echo-small"
  max_turns 3
}
environment "prod" {
  agent "bot" {
    model "echo-large"
    max_turns "10"
  }
}
deploy "local" target "process" {
  default true
}
`;

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'agentspec-compile-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('compileSpec', () => {
  test('a root with its import: one document, imported resources under the root package', async () => {
    await write('multi/lib/index.ias', LIB);
    const app = await write('multi/app.ias', APP);
    const out = await compileSpec([app]);
    assert.deepEqual(out.diagnostics, []);
    assert.equal(out.documents.length, 1);
    const doc = out.documents[0]!;
    assert.deepEqual(doc.imports, [{ path: './lib/index.ias', alias: 'lib' }]);
    assert.deepEqual(
      doc.resources?.map((r) => r.fqn),
      ['app/Agent/bot', 'app/Environment/prod', 'app/Prompt/shared', 'app/Skill/lookup'],
    );
    assert.equal(out.files.length, 2);
  });

  test('--env applies the overrides with their types and drops Environment resources', async () => {
    const app = path.join(dir, 'multi/app.ias');
    const out = await compileSpec([app], { env: 'prod' });
    assert.deepEqual(out.diagnostics, []);
    const bot = out.documents[0]?.resources?.find((r) => r.name === 'bot');
    assert.equal(bot?.attributes.model, 'echo-large');
    assert.equal(bot?.attributes.max_turns, 10);
    assert.ok(!out.documents[0]?.resources?.some((r) => r.kind === 'Environment'));
  });

  test('an unknown environment is a diagnostic and no document is produced', async () => {
    const app = path.join(dir, 'multi/app.ias');
    const out = await compileSpec([app], { env: 'staging' });
    assert.deepEqual(out.documents, []);
    assert.deepEqual(out.diagnostics.map(where), ['app.ias:1:1: environment "staging" not found']);
    assert.equal(out.diagnostics[0]?.hint, 'available: prod');
  });

  test('an override value that does not convert is reported at its environment', async () => {
    const app = await write(
      'badenv/app.ias',
      APP.replace('max_turns "10"', 'max_turns "ten"').replace('./lib/index.ias', '../multi/lib/index.ias'),
    );
    const out = await compileSpec([app], { env: 'prod' });
    assert.deepEqual(out.documents, []);
    assert.deepEqual(out.diagnostics.map(where), [
      'app.ias:9:1: environment "prod": override agent/bot max_turns: value "ten" is not an integer, like the attribute it replaces',
    ]);
  });

  test('validation errors anywhere (including imported files, with their own path) mean no documents', async () => {
    await write('broken/lib.ias', LIB.replace('  content "shared prompt"\n', ''));
    const app = await write('broken/app.ias', APP.replace('./lib/index.ias', './lib.ias').replace('uses skill "lookup"', 'uses skill "lokup"'));
    const out = await compileSpec([app]);
    assert.deepEqual(out.documents, []);
    assert.deepEqual(out.diagnostics.map(where), [
      'lib.ias:2:1: prompt "shared" requires content',
      'app.ias:5:21: skill "lokup" not found',
    ]);
    assert.equal(out.diagnostics[1]?.hint, 'did you mean "lookup"?');
  });

  test('a name declared in the root and in an import is a duplicate and nothing is lowered', async () => {
    await write('dup/lib.ias', LIB);
    const app = await write('dup/app.ias', APP.replace('./lib/index.ias', './lib.ias') + 'prompt "shared" {\n  content "mine"\n}\n');
    const out = await compileSpec([app]);
    assert.deepEqual(out.documents, []);
    assert.equal(out.diagnostics.length, 1);
    assert.match(out.diagnostics[0]!.message, /^duplicate Prompt name "shared"$/);
    assert.equal(path.basename(out.diagnostics[0]!.file), 'lib.ias');
  });

  test('a missing import reports the import and holds back "not found" noise; structural checks still run', async () => {
    const app = await write('noimport/app.ias', APP.replace('model "echo-small"', 'model ""'));
    const out = await compileSpec([app]);
    assert.deepEqual(out.documents, []);
    const messages = out.diagnostics.map(where);
    assert.equal(messages.length, 2, messages.join('\n'));
    assert.match(messages[0]!, /^app\.ias:2:1: import "\.\/lib\/index\.ias": file not found/);
    assert.equal(messages[1], 'app.ias:3:1: agent "bot" requires a model');
  });

  test('parse errors of a root are reported alone (no validation of a half-read file)', async () => {
    const app = await write('parse/app.ias', 'package "p" version "1" lang "3.0"\nagent "a" {\n  model = "x"\n}\n');
    const out = await checkSpec([app]);
    assert.ok(out.diagnostics.length >= 1);
    assert.ok(out.diagnostics.every((d) => !d.message.includes('requires a prompt reference')), JSON.stringify(out.diagnostics));
  });

  test('two independent roots give two documents', async () => {
    const a = await write('two/a.ias', 'package "a" version "1" lang "3.0"\nprompt "p" {\n  content "a"\n}\n');
    const b = await write('two/b.ias', 'package "b" version "1" lang "3.0"\nprompt "p" {\n  content "b"\n}\n');
    const out = await compileSpec([path.dirname(a)]);
    assert.deepEqual(out.diagnostics, []);
    assert.deepEqual(out.documents.map((d) => d.resources?.[0]?.fqn), ['a/Prompt/p', 'b/Prompt/p']);
    assert.deepEqual(out.files.map((f) => path.basename(f)), [path.basename(a), path.basename(b)]);
  });
});

test('SpecInvalidError carries the diagnostics and says what to do', () => {
  const d: Diagnostic = { file: 'x.ias', line: 3, column: 5, message: 'skill "s" not found', hint: 'did you mean "t"?', severity: 'error' };
  const err = new SpecInvalidError([d]);
  assert.equal(err.code, 'E_SPEC_INVALID');
  assert.equal(err.exitCode, 1);
  assert.deepEqual(err.diagnostics, [d]);
  assert.match(err.message, /1 error\(s\)/);
  assert.match(err.message, /x\.ias:3:5: error: skill "s" not found\n {2}hint: did you mean "t"\?/);
});

test('an empty import path is reported once', async () => {
  const d = await mkdtemp(path.join(os.tmpdir(), 'agentspec-compile-empty-'));
  try {
    const app = path.join(d, 'app.ias');
    await writeFile(app, 'package "p" version "1" lang "3.0"\nimport ""\n');
    const out = await compileSpec([app]);
    assert.equal(out.diagnostics.length, 1, JSON.stringify(out.diagnostics));
    assert.equal(`${out.diagnostics[0]?.line}:${out.diagnostics[0]?.column}`, '2:1');
  } finally {
    await rm(d, { recursive: true, force: true });
  }
});
