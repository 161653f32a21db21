import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { compileSpec } from '../../src/ir/index.ts';
import { format, parse } from '../../src/lang/index.ts';
import { runCli } from '../helpers/cli.ts';

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'agentspec-init-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** The starter parses, validates, is canonical, and runs locally (echo model, process target with a port). */
async function assertRunnableStarter(spec: string, pkg: string): Promise<void> {
  const source = await readFile(spec, 'utf8');
  const parsed = parse(source, spec);
  assert.deepEqual(parsed.diagnostics, []);
  assert.equal(format(parsed.file), source, 'the starter is canonical');
  const compiled = await compileSpec([spec]);
  assert.deepEqual(compiled.diagnostics, [], 'the starter validates');
  const doc = compiled.documents[0];
  assert.ok(doc !== undefined);
  assert.equal(doc.package.name, pkg);
  const agents = (doc.resources ?? []).filter((r) => r.kind === 'Agent');
  assert.ok(agents.length > 0);
  for (const a of agents) assert.match(String(a.attributes.model), /^echo/);
  const target = doc.deploy_targets?.[0];
  assert.equal(target?.target, 'process');
  assert.equal(typeof target?.config?.port, 'number');
}

describe('agentspec init', () => {
  test('writes the basic starter into a new directory and prints next steps', async (t) => {
    const dir = await tempDir(t);
    const r = await runCli(['init', 'my-bot'], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    const project = path.join(dir, 'my-bot');
    assert.deepEqual((await readdir(project)).sort(), ['.gitignore', 'main.ias']);
    await assertRunnableStarter(path.join(project, 'main.ias'), 'my-bot');
    assert.match(r.stdout, /created my-bot\/main\.ias/);
    assert.match(r.stdout, /Next steps:/);
    assert.match(r.stdout, /agentspec apply main\.ias/);
    assert.match(r.stdout, /\/v1\/agents\/assistant\/invoke/);
    assert.match(await readFile(path.join(project, '.gitignore'), 'utf8'), /\.agentspec\.state\.json/);
    // apply writes snapshots, logs and pid files under .agentspec/: never to be committed.
    assert.match(await readFile(path.join(project, '.gitignore'), 'utf8'), /^\.agentspec\/$/m);
  });

  test('the support template in the current directory, package named after it', async (t) => {
    const parent = await tempDir(t);
    const dir = path.join(parent, 'Help Desk');
    await mkdir(dir);
    const r = await runCli(['init', '--template', 'support'], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    await assertRunnableStarter(path.join(dir, 'main.ias'), 'help-desk');
    const compiled = await compileSpec([path.join(dir, 'main.ias')]);
    const kinds = (compiled.documents[0]?.resources ?? []).map((res) => res.kind);
    assert.ok(kinds.filter((k) => k === 'Agent').length >= 2);
    assert.ok(kinds.includes('Skill'));
    assert.doesNotMatch(r.stdout, /cd /);
  });

  test('refuses to overwrite an existing spec and writes nothing', async (t) => {
    const dir = await tempDir(t);
    await writeFile(path.join(dir, 'main.ias'), 'mine\n');
    const r = await runCli(['init', dir]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /refusing to overwrite existing file: .*main\.ias/);
    assert.equal(await readFile(path.join(dir, 'main.ias'), 'utf8'), 'mine\n');
    assert.deepEqual(await readdir(dir), ['main.ias'], 'no .gitignore written either');
  });

  test('running init twice: the second run fails and the first files are intact', async (t) => {
    const dir = await tempDir(t);
    assert.equal((await runCli(['init', dir])).code, 0);
    const before = await readFile(path.join(dir, 'main.ias'), 'utf8');
    const second = await runCli(['init', dir, '--template', 'support']);
    assert.equal(second.code, 1);
    assert.equal(await readFile(path.join(dir, 'main.ias'), 'utf8'), before);
  });

  test('an existing .gitignore is kept as it is', async (t) => {
    const dir = path.join(await tempDir(t), 'proj');
    await mkdir(dir);
    await writeFile(path.join(dir, '.gitignore'), 'node_modules\n');
    const r = await runCli(['init', dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await readFile(path.join(dir, '.gitignore'), 'utf8'), 'node_modules\n');
    assert.match(r.stdout, /kept existing .*\.gitignore/);
    await assertRunnableStarter(path.join(dir, 'main.ias'), 'proj');
  });

  test('an unknown template is a usage error that lists the templates', async (t) => {
    const dir = await tempDir(t);
    const r = await runCli(['init', dir, '--template', 'nope']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown template "nope" \(available: basic, support\)/);
    assert.deepEqual(await readdir(dir), []);
  });
});
