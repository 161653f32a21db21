import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from '../helpers/cli.ts';
import { contentHash } from '../../src/ir/hash.ts';
import type { IRDocument } from '../../src/ir/types.ts';

const EXAMPLES = fileURLToPath(new URL('../fixtures/intentlang/examples/', import.meta.url));
let dir: string;

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'agentspec-ir-cli-'));
  await writeFile(path.join(dir, 'a.ias'), 'package "a" version "1" lang "3.0"\nprompt "p" {\n  content "a < b"\n}\n');
  await writeFile(path.join(dir, 'b.ias'), 'package "b" version "1" lang "3.0"\nprompt "p" {\n  content "b"\n}\n');
  await writeFile(path.join(dir, 'bad.ias'), 'package "bad" version "1" lang "3.0"\nagent "x" {\n  model "echo"\n}\n');
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('ir prints one document as 2-space JSON with FQNs and the original hashes', async () => {
  const r = await runCli(['ir', path.join(EXAMPLES, 'basic-agent.ias')]);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as IRDocument;
  assert.ok(r.stdout.startsWith('{\n  "ir_version": "1.0",\n  "lang_version": "2.0",\n'));
  assert.deepEqual(
    doc.resources?.map((x) => [x.fqn, x.hash]),
    [
      ['basic-agent/Agent/helper', 'sha256:df195f21223f89fed5f94b6194c5dc0c99545915fb39c5fc591e2135f7899dd5'],
      ['basic-agent/Prompt/system', 'sha256:677ceb766288e457f77d7a039b4a741255be3d956d61af6ac2f750df7e6d69ef'],
    ],
  );
  assert.deepEqual(doc.deploy_targets, [{ name: 'local', target: 'process', config: { health: { path: '/healthz' }, port: 8080 } }]);
});

test('ir --env applies the environment', async () => {
  const r = await runCli(['ir', '--env', 'dev', path.join(EXAMPLES, 'customer-support.ias')]);
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as IRDocument;
  const bot = doc.resources?.find((x) => x.fqn === 'customer-support/Agent/support-bot');
  assert.equal(bot?.attributes.model, 'claude-haiku-latest');
  assert.equal(bot?.hash, contentHash(bot!.attributes));
  assert.notEqual(bot?.hash, 'sha256:8d5df7259185c7b0e50579a608f12634bed464afa41632c2af1b89772a9f2d9c');
  assert.ok(!doc.resources?.some((x) => x.kind === 'Environment'));
});

test('ir with several roots prints an array', async () => {
  const r = await runCli(['ir', 'a.ias', 'b.ias'], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  const docs = JSON.parse(r.stdout) as IRDocument[];
  assert.ok(Array.isArray(docs));
  assert.deepEqual(docs.map((d) => d.package.name), ['a', 'b']);
  assert.equal(docs[0]?.resources?.[0]?.attributes.content, 'a < b');
});

test('ir of an invalid spec prints diagnostics, nothing on stdout, exit 1', async () => {
  const r = await runCli(['ir', 'bad.ias'], { cwd: dir });
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, 'bad.ias:2:1: error: agent "x" requires a prompt reference\n  hint: add \'uses prompt "name"\'\n');
});

test('ir --env with an unknown environment fails with its name', async () => {
  const r = await runCli(['ir', '--env', 'nope', 'a.ias'], { cwd: dir });
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^a\.ias:1:1: error: environment "nope" not found$/m);
});
