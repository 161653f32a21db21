import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, lstat, mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../helpers/cli.ts';

const UGLY = `package "demo"   lang "2.0" version "0.1.0"
# the agent
agent "a" {
  model "echo"   # local model
  uses prompt "p"
}
prompt "p" { content "hi" }
`;

const CANONICAL = `package "demo" version "0.1.0" lang "2.0"

# the agent
agent "a" {
  uses prompt "p"
  model "echo" # local model
}

prompt "p" {
  content "hi"
}
`;

const BROKEN = `package "demo" version "0.1.0" lang "2.0"

agent "a" {
  model = "echo"
}
`;

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'agentspec-fmt-cli-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

describe('agentspec fmt', () => {
  test('prints the canonical text and leaves the file alone', async (t) => {
    const dir = await tempDir(t);
    const file = path.join(dir, 'a.ias');
    await writeFile(file, UGLY);
    const r = await runCli(['fmt', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, CANONICAL);
    assert.equal(await readFile(file, 'utf8'), UGLY);
  });

  test('--write rewrites the files that change, keeps their mode, lists them, leaves no temp file', async (t) => {
    const dir = await tempDir(t);
    const ugly = path.join(dir, 'ugly.ias');
    const fine = path.join(dir, 'fine.ias');
    await writeFile(ugly, UGLY);
    await chmod(ugly, 0o640);
    await writeFile(fine, CANONICAL);
    const fineBefore = await stat(fine);
    const r = await runCli(['fmt', '--write', dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${ugly}\n`);
    assert.equal(await readFile(ugly, 'utf8'), CANONICAL);
    assert.equal((await stat(ugly)).mode & 0o777, 0o640);
    // The canonical file was not touched at all (same inode, same mtime).
    const fineAfter = await stat(fine);
    assert.equal(fineAfter.ino, fineBefore.ino);
    assert.equal(fineAfter.mtimeMs, fineBefore.mtimeMs);
    assert.deepEqual((await readdir(dir)).sort(), ['fine.ias', 'ugly.ias']);
    // Formatting again finds nothing to do.
    const again = await runCli(['fmt', '--check', dir]);
    assert.equal(again.code, 0, again.stderr);
  });

  test('--write through a symlink rewrites the file it points to and keeps the link', async (t) => {
    const dir = await tempDir(t);
    await mkdir(path.join(dir, 'real'));
    const target = path.join(dir, 'real', 'spec.ias');
    const link = path.join(dir, 'link.ias');
    await writeFile(target, UGLY);
    await symlink(target, link);
    const r = await runCli(['fmt', '--write', link]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok((await lstat(link)).isSymbolicLink());
    assert.equal(await readFile(target, 'utf8'), CANONICAL);
    assert.deepEqual(await readdir(path.join(dir, 'real')), ['spec.ias']);
  });

  test('--write refuses a symlink that leads out of its directory and leaves the target alone', async (t) => {
    const dir = await tempDir(t);
    await mkdir(path.join(dir, 'checkout'));
    const outside = path.join(dir, 'outside.ias');
    const link = path.join(dir, 'checkout', 'spec.ias');
    await writeFile(outside, UGLY);
    await symlink(outside, link);
    for (const arg of [link, path.join(dir, 'checkout')]) {
      const r = await runCli(['fmt', '--write', arg]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /outside .*refusing to rewrite it/);
      assert.equal(await readFile(outside, 'utf8'), UGLY);
    }
  });

  test('--check lists files that are not canonical on stderr, exits 1 and writes nothing', async (t) => {
    const dir = await tempDir(t);
    const ugly = path.join(dir, 'ugly.ias');
    const fine = path.join(dir, 'fine.ias');
    await writeFile(ugly, UGLY);
    await writeFile(fine, CANONICAL);
    const r = await runCli(['fmt', '--check', ugly, fine]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, new RegExp(`^${ugly.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
    assert.doesNotMatch(r.stderr, /fine\.ias/);
    assert.equal(await readFile(ugly, 'utf8'), UGLY);
  });

  test('--check exits 0 with no output when every file is canonical', async (t) => {
    const dir = await tempDir(t);
    await writeFile(path.join(dir, 'one.ias'), CANONICAL);
    await writeFile(path.join(dir, 'two.ias'), CANONICAL.replace('"demo"', '"demo2"'));
    const r = await runCli(['fmt', '--check', dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, '');
  });

  test('a file with parse errors: diagnostics, exit 1, the file untouched (also with --write)', async (t) => {
    const dir = await tempDir(t);
    const broken = path.join(dir, 'broken.ias');
    const ugly = path.join(dir, 'ugly.ias');
    await writeFile(broken, BROKEN);
    await writeFile(ugly, UGLY);
    const before = await stat(broken);
    const r = await runCli(['fmt', '--write', broken, ugly]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`${path.basename(broken)}:4:9: error: unexpected character '='`));
    assert.equal(await readFile(broken, 'utf8'), BROKEN);
    assert.equal((await stat(broken)).ino, before.ino);
    // The other file is still formatted.
    assert.equal(r.stdout, `${ugly}\n`);
    assert.equal(await readFile(ugly, 'utf8'), CANONICAL);

    const printed = await runCli(['fmt', broken]);
    assert.equal(printed.code, 1);
    assert.equal(printed.stdout, '');
    assert.match(printed.stderr, /error:/);
  });

  test('a directory stands for the *.ias files under it, recursively, like validate', async (t) => {
    const dir = await tempDir(t);
    await mkdir(path.join(dir, 'sub', 'deeper'), { recursive: true });
    await mkdir(path.join(dir, '.agentspec'));
    await writeFile(path.join(dir, 'b.ias'), UGLY);
    await writeFile(path.join(dir, 'a.ias'), UGLY.replace('"demo"', '"first"'));
    await writeFile(path.join(dir, 'notes.txt'), 'not a spec');
    await writeFile(path.join(dir, 'sub', 'c.ias'), UGLY);
    await writeFile(path.join(dir, 'sub', 'deeper', 'd.ias'), UGLY);
    await writeFile(path.join(dir, '.agentspec', 'hidden.ias'), UGLY);
    const r = await runCli(['fmt', '--check', dir]);
    assert.equal(r.code, 1);
    const listed = r.stderr.split('\n').filter((l) => l.endsWith('.ias'));
    const all = [path.join(dir, 'a.ias'), path.join(dir, 'b.ias'), path.join(dir, 'sub', 'c.ias'), path.join(dir, 'sub', 'deeper', 'd.ias')];
    assert.deepEqual(listed, all);
    const w = await runCli(['fmt', '--write', dir]);
    assert.equal(w.code, 0, w.stderr);
    assert.deepEqual(w.stdout.trim().split('\n'), all);
    assert.equal((await runCli(['fmt', '--check', dir])).code, 0);
    assert.equal(await readFile(path.join(dir, '.agentspec', 'hidden.ias'), 'utf8'), UGLY, 'hidden folders are left alone');
    const empty = path.join(dir, 'empty');
    await mkdir(empty);
    const none = await runCli(['fmt', '--check', empty]);
    assert.equal(none.code, 1, 'a directory with nothing to check is not a pass');
    assert.match(none.stderr, /no \.ias files in this directory or below it/);
  });

  test('a missing path and --check with --write are errors', async (t) => {
    const dir = await tempDir(t);
    const missing = await runCli(['fmt', path.join(dir, 'nope.ias')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /nope\.ias: cannot read/);
    await writeFile(path.join(dir, 'a.ias'), UGLY);
    const both = await runCli(['fmt', '--check', '--write', path.join(dir, 'a.ias')]);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /--check and --write/);
    assert.equal(await readFile(path.join(dir, 'a.ias'), 'utf8'), UGLY);
  });
});
