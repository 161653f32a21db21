import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadSources } from '../../src/lang/load.ts';

const H = (name: string): string => `package "${name}" version "1.0.0" lang "3.0"\n`;

let dir: string;

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'agentspec-load-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Write files under a fresh sub-directory of the temp dir; returns its path. */
async function tree(files: Record<string, string>): Promise<string> {
  const base = await mkdtemp(path.join(dir, 't-'));
  for (const [rel, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(base, rel)), { recursive: true });
    await writeFile(path.join(base, rel), text);
  }
  return base;
}

const names = (stmts: { kind: string; name?: string }[]): string[] =>
  stmts.filter((s) => s.kind !== 'import').map((s) => `${s.kind}:${s.name ?? ''}`);

describe('loadSources', () => {
  test('nested imports merge depth-first, each file once, alias kept on the import', async () => {
    const base = await tree({
      'main.ias': H('main') + 'import "./lib" as shared\nimport "./other.ias"\nagent "a" { prompt p }\n',
      'lib.ias': H('lib') + 'import "./deep/util.ias"\nprompt "p" { content "x" }\n',
      'deep/util.ias': H('util') + 'import "../other"\nskill "u" {}\n',
      'other.ias': H('other') + 'secret "k" { env(K) }\n',
    });
    const r = await loadSources([path.join(base, 'main.ias')], { cwd: base });
    assert.deepEqual(r.diagnostics, []);
    assert.equal(r.roots.length, 1);
    const root = r.roots[0]!;
    assert.deepEqual(names(root.statements), ['agent:a', 'prompt:p', 'skill:u', 'secret:k']);
    // The root keeps its imports (lowering records them); imported files' imports are not merged.
    assert.deepEqual(
      root.statements.filter((s) => s.kind === 'import').map((s) => (s.kind === 'import' ? [s.path, s.alias?.value] : [])),
      [
        ['./lib', 'shared'],
        ['./other.ias', undefined],
      ],
    );
    assert.equal(root.file.header?.name, 'main');
    assert.deepEqual(root.files, [
      path.join(base, 'main.ias'),
      path.join(base, 'lib.ias'),
      path.join(base, 'deep/util.ias'),
      path.join(base, 'other.ias'),
    ]);
    const prompt = root.statements.find((s) => s.kind === 'prompt');
    assert.equal(prompt && root.fileOf.get(prompt), path.join(base, 'lib.ias'));
  });

  test('display paths are relative to cwd when the user gave relative paths', async () => {
    const base = await tree({ 'a.ias': H('a') + 'import "./b"\n', 'b.ias': H('b') + 'bogus\n' });
    const r = await loadSources(['a.ias'], { cwd: base });
    assert.deepEqual(
      r.diagnostics.map((d) => [d.file, d.line, d.column, d.message]),
      [['b.ias', 2, 1, "unexpected token 'bogus'"]],
    );
    assert.equal(r.sources.get('b.ias'), H('b') + 'bogus\n');
  });

  test('<path>/index.ias fallback for ./ imports', async () => {
    const base = await tree({
      'main.ias': H('main') + 'import "./tools"\n',
      'tools/index.ias': H('tools') + 'skill "t" {}\n',
    });
    const r = await loadSources(['main.ias'], { cwd: base });
    assert.deepEqual(r.diagnostics, []);
    assert.deepEqual(names(r.roots[0]!.statements), ['skill:t']);
  });

  test('bare local names resolve beside the importing file', async () => {
    const base = await tree({
      'sub/main.ias': H('main') + 'import "helpers"\n',
      'sub/helpers.ias': H('h') + 'prompt "h" {}\n',
    });
    const r = await loadSources(['sub/main.ias'], { cwd: base });
    assert.deepEqual(r.diagnostics, []);
    assert.deepEqual(names(r.roots[0]!.statements), ['prompt:h']);
  });

  test('an import cycle is an error naming the cycle, at the import statement', async () => {
    const base = await tree({
      'a.ias': H('a') + 'import "./b.ias"\nprompt "pa" {}\n',
      'b.ias': H('b') + 'prompt "pb" {}\n\n  import "./c"\n',
      'c.ias': H('c') + 'import "./a.ias"\n',
    });
    const r = await loadSources(['a.ias'], { cwd: base });
    assert.deepEqual(
      r.diagnostics.map((d) => [d.file, d.line, d.column, d.message]),
      [['c.ias', 2, 1, 'import cycle: a.ias -> b.ias -> c.ias -> a.ias']],
    );
    // Loading still terminates with everything else merged.
    assert.deepEqual(names(r.roots[0]!.statements), ['prompt:pa', 'prompt:pb']);
  });

  test('a file importing itself is a cycle', async () => {
    const base = await tree({ 'self.ias': H('s') + 'import "self.ias"\n' });
    const r = await loadSources(['self.ias'], { cwd: base });
    assert.deepEqual(r.diagnostics.map((d) => [d.line, d.message]), [[2, 'import cycle: self.ias -> self.ias']]);
  });

  test('a diamond is not a cycle and the shared file is merged once', async () => {
    const base = await tree({
      'top.ias': H('t') + 'import "./l"\nimport "./r"\n',
      'l.ias': H('l') + 'import "./shared"\n',
      'r.ias': H('r') + 'import "./shared"\n',
      'shared.ias': H('s') + 'prompt "s" {}\n',
    });
    const r = await loadSources(['top.ias'], { cwd: base });
    assert.deepEqual(r.diagnostics, []);
    assert.deepEqual(names(r.roots[0]!.statements), ['prompt:s']);
  });

  test('missing import: diagnostic at the import position naming the resolved path', async () => {
    const base = await tree({ 'm.ias': H('m') + 'prompt "p" {}\n   import "./nope"\nimport "missing.ias"\n' });
    const r = await loadSources(['m.ias'], { cwd: base });
    assert.deepEqual(
      r.diagnostics.map((d) => [d.file, d.line, d.column, d.message]),
      [
        ['m.ias', 3, 4, 'import "./nope": file not found: nope'],
        ['m.ias', 4, 1, 'import "missing.ias": file not found: missing.ias'],
      ],
    );
  });

  test('package imports: search path with @version, then without, main.ias or index.ias', async () => {
    const base = await tree({
      'app/m.ias': H('m') + 'import "acme.io/tools" version "1.2.0"\nimport "acme.io/other"\nimport "acme.io/none"\n',
      'pkgs/acme.io/tools@1.2.0/main.ias': H('tools') + 'skill "pkg-skill" {}\n',
      'pkgs/acme.io/other/index.ias': H('other') + 'prompt "pkg-prompt" {}\n',
    });
    const r = await loadSources(['app/m.ias'], { cwd: base, searchPaths: [path.join(base, 'pkgs')] });
    assert.deepEqual(names(r.roots[0]!.statements), ['skill:pkg-skill', 'prompt:pkg-prompt']);
    assert.deepEqual(
      r.diagnostics.map((d) => [d.line, d.column, d.message]),
      [[4, 1, 'import "acme.io/none": package not found']],
    );
    assert.match(r.diagnostics[0]?.hint ?? '', /acme\.io\/none\/main\.ias/);
  });

  test('a registry resolver is tried first for packages', async () => {
    const base = await tree({
      'm.ias': H('m') + 'import "reg.io/x" version "2"\n',
      'cache/x.ias': H('x') + 'prompt "from-registry" {}\n',
    });
    const asked: string[] = [];
    const r = await loadSources(['m.ias'], {
      cwd: base,
      searchPaths: [],
      resolvePackage: (p, v) => {
        asked.push(`${p}@${v ?? ''}`);
        return Promise.resolve(path.join(base, 'cache/x.ias'));
      },
    });
    assert.deepEqual(r.diagnostics, []);
    assert.deepEqual(asked, ['reg.io/x@2']);
    assert.deepEqual(names(r.roots[0]!.statements), ['prompt:from-registry']);
  });

  test('a directory expands to the *.ias under it (sorted, recursive, hidden folders skipped); an imported root is not its own root', async () => {
    const base = await tree({
      'spec/main.ias': H('main') + 'import "./lib"\nagent "a" {}\n',
      'spec/lib.ias': H('lib') + 'prompt "p" {}\n',
      'spec/extra.ias': H('extra') + 'prompt "e" {}\n',
      'spec/notes.txt': 'not a spec',
      'spec/nested/deep.ias': H('deep') + 'prompt "d" {}\n',
      'spec/.agentspec/snapshot.ias': 'not parsed: hidden folders are agentspec data or VCS metadata',
      'spec/node_modules/dep/x.ias': 'not parsed either',
    });
    const r = await loadSources(['spec'], { cwd: base });
    assert.deepEqual(r.diagnostics, []);
    assert.deepEqual(
      r.roots.map((x) => x.path),
      [path.join('spec', 'extra.ias'), path.join('spec', 'main.ias'), path.join('spec', 'nested', 'deep.ias')],
    );
    assert.deepEqual(names(r.roots[1]!.statements), ['agent:a', 'prompt:p']);
  });

  test('two roots importing each other: the first one given stays the root', async () => {
    const base = await tree({
      'a.ias': H('a') + 'import "./b"\nprompt "a" {}\n',
      'b.ias': H('b') + 'import "./a"\nprompt "b" {}\n',
    });
    const r = await loadSources(['a.ias', 'b.ias'], { cwd: base });
    assert.deepEqual(r.roots.map((x) => x.path), ['a.ias']);
    assert.deepEqual(r.diagnostics.map((d) => d.message), ['import cycle: a.ias -> b.ias -> a.ias']);
  });

  test('other extensions, missing paths and empty directories are diagnostics', async () => {
    const base = await tree({ 'x.az': 'package "x"\n', 'empty/.keep': '' });
    const r = await loadSources(['x.az', 'gone.ias', 'empty'], { cwd: base });
    assert.deepEqual(
      r.diagnostics.map((d) => [d.file, d.line, d.column, d.message]),
      [
        ['x.az', 1, 1, 'unsupported file extension ".az": IntentLang files end in .ias'],
        ['gone.ias', 1, 1, 'file not found: gone.ias'],
        ['empty', 1, 1, 'no .ias files in directory empty'],
      ],
    );
    assert.deepEqual(r.roots, []);
  });

  test('parse errors of the root are flagged; imported-file duplicates are reported and dropped', async () => {
    const base = await tree({
      'm.ias': H('m') + 'import "./dup"\nprompt "p" { content "root" }\nagent "x" { model }\n',
      'dup.ias': H('d') + 'prompt "p" { content "lib" }\nprompt "q" {}\n',
    });
    const r = await loadSources(['m.ias'], { cwd: base });
    const root = r.roots[0]!;
    assert.equal(root.parseFailed, true);
    assert.deepEqual(
      r.diagnostics.map((d) => [d.file, d.line, d.column, d.message]),
      [
        ['m.ias', 4, 19, "expected string for model, got '}'"],
        ['dup.ias', 2, 12, 'duplicate Prompt name "p"'],
      ],
    );
    const prompts = root.statements.filter((s) => s.kind === 'prompt');
    assert.deepEqual(prompts.map((p) => (p.kind === 'prompt' ? p.content?.value : '')), ['root', undefined]);
  });

  test('a leading UTF-8 BOM is ignored', async () => {
    const base = await tree({ 'bom.ias': '\uFEFF' + H('b') + 'prompt "p" {}\n' });
    const r = await loadSources(['bom.ias'], { cwd: base });
    assert.deepEqual(r.diagnostics, []);
  });

  test('the examples directory loads cleanly (support-agent imports knowledge-base)', async () => {
    const examples = path.resolve(import.meta.dirname, '../fixtures/intentlang/examples');
    const r = await loadSources([examples]);
    assert.deepEqual(r.diagnostics, []);
    const roots = r.roots.map((x) => path.basename(x.path));
    assert.ok(roots.includes('support-agent.ias'));
    assert.ok(!roots.includes('knowledge-base.ias'));
    const support = r.roots.find((x) => x.path.endsWith('support-agent.ias'))!;
    assert.equal(support.files.length, 2);
  });
});

describe('loadSources with symlinks', () => {
  test('a file reached through a symlink is merged once; a cycle through a symlink is found', async () => {
    const { symlink } = await import('node:fs/promises');
    const base = await tree({
      'main.ias': H('main') + 'import "./lib"\nimport "./alias"\n',
      'lib.ias': H('lib') + 'prompt "p" {}\n',
      'loop.ias': H('loop') + 'import "./loop-link"\n',
    });
    await symlink(path.join(base, 'lib.ias'), path.join(base, 'alias.ias'));
    await symlink(path.join(base, 'loop.ias'), path.join(base, 'loop-link.ias'));
    const r = await loadSources(['main.ias'], { cwd: base });
    assert.deepEqual(r.diagnostics, []);
    assert.deepEqual(names(r.roots[0]!.statements), ['prompt:p']);
    const r2 = await loadSources(['loop.ias'], { cwd: base });
    assert.deepEqual(r2.diagnostics.map((d) => d.message), ['import cycle: loop.ias -> loop.ias']);
  });
});
