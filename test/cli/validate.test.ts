import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { CLI, runCli } from '../helpers/cli.ts';

const EXAMPLES = fileURLToPath(new URL('../fixtures/intentlang/examples/', import.meta.url));
let dir: string;

const INVALID = `package "multi-skill" version "0.1.0" lang "2.0"

prompt "research" {
  content "You are a research assistant."
}

skill "web-search" {
  description "Search the web"
  input {
    query string required
  }
  output {
    results string
  }
  tool command {
    binary "search-tool"
  }
}

agent "researcher" {
  uses prompt "research"
  uses skill "web-serch"
  model "claude-sonnet-4-20250514"
}

agent "lost" {
  uses prompt "research"
}
`;

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'agentspec-validate-cli-'));
  await writeFile(path.join(dir, 'invalid_ref.ias'), INVALID);
  await writeFile(path.join(dir, 'broken.ias'), 'package "b" version "1" lang "3.0"\nagent "a" {\n  model = "x"\n}\n');
  await writeFile(path.join(dir, 'notes.txt'), 'not a spec');
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('validate: the examples are valid (exit 0, a success line on stdout, only warnings on stderr)', async () => {
  const r = await runCli(['validate', EXAMPLES]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '✓ 12 file(s) valid\n');
  // Their tool binaries are not installed here: warned about, never an error.
  for (const line of r.stderr.trimEnd().split('\n')) assert.match(line, /^(\S+:\d+:\d+: warning: | {2}hint: )/);
  assert.match(r.stderr, /multi-skill-agent\.ias:16:12: warning: skill "web-search": binary "search-tool" is not on PATH here\n/);
});

test('validate: every diagnostic as FILE:LINE:COL: error: MESSAGE with its hint, exit 1', async () => {
  const r = await runCli(['validate', 'invalid_ref.ias'], { cwd: dir });
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.equal(
    r.stderr,
    'invalid_ref.ias:26:1: error: agent "lost" requires a model\n' +
      '  hint: add \'model "model-name"\'\n' +
      'invalid_ref.ias:22:25: error: skill "web-serch" not found\n' +
      '  hint: did you mean "web-search"?\n' +
      'invalid_ref.ias:16:12: warning: skill "web-search": binary "search-tool" is not on PATH here\n' +
      '  hint: install it, or make sure it is on PATH where the runtime runs (apply and run fail without it)\n',
  );
});

test('validate --format json: a 2-space array of {file, line, column, message, hint?} on stderr', async () => {
  const r = await runCli(['validate', '--format', 'json', 'invalid_ref.ias', 'broken.ias'], { cwd: dir });
  assert.equal(r.code, 1);
  const parsed = JSON.parse(r.stderr) as Array<Record<string, unknown>>;
  assert.ok(r.stderr.startsWith('[\n  {\n    "file": '), r.stderr);
  assert.deepEqual(parsed.slice(0, 2), [
    { file: 'invalid_ref.ias', line: 26, column: 1, message: 'agent "lost" requires a model', hint: 'add \'model "model-name"\'' },
    { file: 'invalid_ref.ias', line: 22, column: 25, message: 'skill "web-serch" not found', hint: 'did you mean "web-search"?' },
  ]);
  const broken = parsed.filter((d) => d.file === 'broken.ias');
  assert.ok(broken.length >= 1);
  assert.deepEqual(Object.keys(broken[0]!).slice(0, 4), ['file', 'line', 'column', 'message']);
  assert.equal(broken[0]!.line, 3);
});

test('validate: files are independent; a non-.ias file is refused', async () => {
  const r = await runCli(['validate', path.join(EXAMPLES, 'basic-agent.ias'), 'notes.txt'], { cwd: dir });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^notes\.txt:1:1: error: unsupported file extension/m);
  assert.doesNotMatch(r.stderr, /basic-agent/);
});

test('validate without arguments is a usage error', async () => {
  const r = await runCli(['validate']);
  assert.equal(r.code, 2);
});

test('validate on a terminal: the source line and a caret under the column follow each diagnostic', async (t) => {
  // `script` gives the CLI a real pseudo-terminal as stdout/stderr.
  const probe = spawnSync('script', ['--version'], { encoding: 'utf8' });
  if (probe.error !== undefined) {
    t.skip('util-linux script is not installed');
    return;
  }
  await writeFile(path.join(dir, 'tty.ias'), 'package "p" version "1" lang "3.0"\n\tagent "a" {\n  model "echo"\n}\n');
  const cmd = `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} validate tty.ias`;
  const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { cwd: dir, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  assert.equal(r.status, 1, r.stdout);
  const out = r.stdout.replace(/\r\n/g, '\n');
  assert.equal(
    out,
    'tty.ias:2:2: error: agent "a" requires a prompt reference\n' +
      '  hint: add \'uses prompt "name"\'\n' +
      '  \tagent "a" {\n' +
      '  \t^\n',
  );
});

test('validate DIR finds the packages in nested folders (the repository examples/)', async () => {
  const examples = fileURLToPath(new URL('../../examples/', import.meta.url));
  const r = await runCli(['validate', examples]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.match(r.stdout, /3 file\(s\) valid/);
  const fmt = await runCli(['fmt', '--check', examples]);
  assert.equal(fmt.code, 0, `the examples are canonical: ${fmt.stderr}`);
});
