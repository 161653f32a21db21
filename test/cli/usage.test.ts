import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/main.ts';
import { parseDuration } from '../../src/cli/context.ts';
import { jsonLogLines, runCli } from '../helpers/cli.ts';

const README = fileURLToPath(new URL('../../README.md', import.meta.url));

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agentspec-usage-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Every command path the program knows (`apply`, `state list`, ...) with its long flags. */
function programCommands(): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  const walk = (cmd: Command, prefix: string[]): void => {
    for (const sub of cmd.commands) {
      const name = [...prefix, sub.name()];
      if (sub.commands.length > 0) walk(sub, name);
      else out.set(name.join(' '), new Set(sub.options.map((o) => o.long).filter((l): l is string => l !== undefined)));
    }
  };
  walk(buildProgram(), []);
  return out;
}

/** The README's command table: each `agentspec …` cell, split into command path and flags. */
function readmeCommands(): Map<string, string[]> {
  const text = fs.readFileSync(README, 'utf8');
  const table = text.slice(text.indexOf('## Commands'), text.indexOf('## Exit codes'));
  const out = new Map<string, string[]>();
  for (const row of table.split('\n').filter((l) => l.startsWith('| `agentspec '))) {
    const cell = row.slice(2, row.indexOf('` |') + 1);
    for (const usage of cell.split(/`\s*\/\s*`/).map((u) => u.replace(/`/g, '').replace(/^agentspec /, ''))) {
      const words = usage.split(/\s+/);
      const name: string[] = [];
      for (const w of words) {
        if (!/^[a-z][a-z-]*$/.test(w)) break;
        name.push(w);
      }
      out.set(name.join(' '), usage.match(/--[a-z][a-z-]*/g) ?? []);
    }
  }
  return out;
}

test("the README's command table and the program's commands and flags agree", () => {
  const program = programCommands();
  const readme = readmeCommands();
  const globals = new Set(buildProgram().options.map((o) => o.long));
  program.delete('help');
  assert.deepEqual([...readme.keys()].sort(), [...program.keys()].sort(), 'the same commands');
  for (const [name, flags] of readme) {
    const known = program.get(name)!;
    for (const f of flags) {
      // `--no-auth` is how commander names a negatable flag; README writes it the same way.
      assert.ok(known.has(f) || globals.has(f), `README names ${f} for \`agentspec ${name}\`, which the program does not take`);
    }
  }
  for (const [name, flags] of program) {
    const documented = new Set(readme.get(name));
    for (const f of flags) if (f !== '--help') assert.ok(documented.has(f), `\`agentspec ${name}\` takes ${f}, which the README does not list`);
  }
});

test('--log-level bogus is a usage error, not a stack trace', async () => {
  const r = await runCli(['--log-level', 'bogus', 'validate', 'x.ias']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /argument 'bogus' is invalid\. Allowed choices are trace, debug, info, warn, error/);
  assert.doesNotMatch(r.stderr, /^\s+at /m);
});

test('a duration needs a unit; 0 means no wait', async (t) => {
  assert.equal(parseDuration('--lock-timeout', '0'), 0);
  assert.equal(parseDuration('--lock-timeout', '1.5s'), 1500);
  assert.equal(parseDuration('--lock-timeout', '250ms'), 250);
  assert.throws(() => parseDuration('--lock-timeout', '30'), /a unit is needed: 30s or 30ms\?/);
  const dir = tempDir(t);
  const r = await runCli(['--state-file', path.join(dir, 'state.json'), 'apply', '--auto-approve', '--lock-timeout', '30', 'x.ias']);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /--lock-timeout: invalid duration "30" \(a unit is needed/);
});

test('commands are quiet by default; -v and --log-level info bring the structured lines back', async (t) => {
  const dir = tempDir(t);
  const spec = path.join(dir, 'quiet.ias');
  fs.writeFileSync(spec, 'package "quiet" version "0.1.0" lang "2.0"\n\nprompt "p" {\n  content "hi"\n}\n');
  const state = path.join(dir, 'state.json');
  // destroy with nothing deployed still takes and releases the state lock, which it logs at info.
  const quiet = await runCli(['--state-file', state, 'destroy', '--auto-approve', spec]);
  assert.equal(quiet.code, 0, quiet.stderr);
  assert.equal(quiet.stderr, '');
  assert.equal(quiet.stdout, 'No changes. Nothing is deployed for these packages.\n');

  const verbose = await runCli(['--state-file', state, '-v', 'destroy', '--auto-approve', spec]);
  assert.equal(verbose.code, 0, verbose.stderr);
  const lines = verbose.stderr.split('\n').filter((l) => l !== '');
  assert.ok(lines.some((l) => /INFO.*lock acquired/.test(l)), verbose.stderr);
  // One line per record, the fields on the same line.
  for (const l of lines) assert.match(l, /^\[\d\d:\d\d:\d\d\.\d{3}\] (TRACE|DEBUG|INFO|WARN|ERROR)/, l);

  const json = await runCli(['--state-file', state, '--log-level', 'info', '--log-format', 'json', 'destroy', '--auto-approve', spec]);
  assert.equal(json.code, 0, json.stderr);
  const records = jsonLogLines(json.stderr);
  assert.ok(records.some((l) => l.msg === 'lock acquired' && l.level === 30));
  assert.equal(records.length, json.stderr.split('\n').filter((l) => l !== '').length, 'every stderr line is a JSON record');
});

/**
 * Every module the compiled CLI loads for `args`: ES modules through a resolve hook, CommonJS
 * ones (pino and zod are required lazily) from the require cache at exit.
 */
async function modulesLoadedBy(dir: string, args: string[], opts: { serve?: boolean } = {}): Promise<string> {
  const seen = path.join(dir, `loaded-${Math.random().toString(36).slice(2)}.txt`);
  fs.writeFileSync(
    path.join(dir, 'hook.mjs'),
    "import fs from 'node:fs';\nexport async function resolve(s, c, next) {\n  const r = await next(s, c);\n  fs.appendFileSync(process.env.AGENTSPEC_TEST_LOADED, r.url + '\\n');\n  return r;\n}\n",
  );
  fs.writeFileSync(
    path.join(dir, 'register.mjs'),
    "import fs from 'node:fs';\nimport { createRequire, register } from 'node:module';\nregister('./hook.mjs', import.meta.url);\n" +
      "const require = createRequire(import.meta.url);\nprocess.on('exit', () => fs.appendFileSync(process.env.AGENTSPEC_TEST_LOADED, Object.keys(require.cache).join('\\n') + '\\n'));\n",
  );
  const { spawn } = await import('node:child_process');
  const cli = fileURLToPath(new URL('../../bin/agentspec.js', import.meta.url));
  const child = spawn(process.execPath, ['--import', path.join(dir, 'register.mjs'), cli, ...args], {
    cwd: dir,
    env: { ...process.env, AGENTSPEC_TEST_LOADED: seen, AGENTSPEC_LOG_LEVEL: '', AGENTSPEC_LOG_FORMAT: '' },
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  // A server is stopped (SIGTERM, a clean exit) once it listens.
  if (opts.serve === true) child.stdout.on('data', (d: Buffer) => (/listening on/.test(d.toString()) ? child.kill('SIGTERM') : undefined));
  else child.stdout.resume();
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  assert.equal(code, 0, stderr);
  const loaded = fs.readFileSync(seen, 'utf8');
  assert.match(loaded, /node_modules\/commander\//, 'the hook saw the packages that are loaded');
  assert.doesNotMatch(loaded, /\.ts\n/, 'no TypeScript at run time');
  return loaded;
}

function assertNotLoaded(loaded: string, packages: readonly string[], what: string): void {
  for (const heavy of packages) assert.doesNotMatch(loaded, new RegExp(`node_modules/${heavy}/`), `${what}: ${heavy} is loaded only when needed`);
}

test('--version starts without zod, pino, pino-pretty, the lock addon or the runtime', async (t) => {
  const loaded = await modulesLoadedBy(tempDir(t), ['--version']);
  assertNotLoaded(loaded, ['zod', 'pino', 'pino-pretty', 'fs-native-extensions', 'fastify', 'redis', 'pg'], '--version');
});

test('a quiet validate and plan load no logger and no runtime; validate no zod either', async (t) => {
  const dir = tempDir(t);
  fs.writeFileSync(path.join(dir, 'q.ias'), 'package "q" version "0.1.0" lang "2.0"\n\nprompt "p" {\n  content "hi"\n}\n\nagent "a" {\n  uses prompt "p"\n  model "echo"\n}\n');
  const runtime = ['fastify', 'redis', 'pg', '@modelcontextprotocol/sdk', 'prom-client'];
  assertNotLoaded(await modulesLoadedBy(dir, ['validate', 'q.ias']), ['zod', 'pino', 'pino-pretty', ...runtime], 'validate');
  // plan reads the state (zod checks its shape); its debug lines are filtered out, so no logger is built.
  const state = path.join(dir, 'state.json');
  fs.writeFileSync(state, '{"version":"1.0","serial":1,"lineage":"0f0f","entries":[]}\n');
  const planned = await modulesLoadedBy(dir, ['--state-file', state, 'plan', 'q.ias']);
  assertNotLoaded(planned, ['pino', 'pino-pretty', ...runtime], 'plan');
  assert.match(planned, /node_modules\/zod\//, 'plan read the state');
});

test('run with the memory store and no MCP server loads neither the Redis client nor the MCP SDK', async (t) => {
  const dir = tempDir(t);
  fs.writeFileSync(path.join(dir, 'q.ias'), 'package "q" version "0.1.0" lang "2.0"\n\nprompt "p" {\n  content "hi"\n}\n\nagent "a" {\n  uses prompt "p"\n  model "echo"\n}\n');
  const loaded = await modulesLoadedBy(dir, ['run', 'q.ias', '--port', '0'], { serve: true });
  assert.match(loaded, /node_modules\/fastify\//, 'the runtime ran');
  assertNotLoaded(loaded, ['redis', '@redis', '@modelcontextprotocol/sdk'], 'run');
});
