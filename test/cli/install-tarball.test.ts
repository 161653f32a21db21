// The package as a user gets it: `npm pack`, `npm install -g` into an empty prefix, then the
// starter's printed next steps run from an empty directory with no checkout around it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../helpers/services.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function explain(what: string, r: Ran): string {
  return `${what}: exit ${String(r.code)}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
}

/** PATH without the checkout's node_modules/.bin, so `agentspec` can only be the installed one. */
function pathWithout(checkout: string): string {
  return (process.env.PATH ?? '')
    .split(path.delimiter)
    .filter((p) => !p.startsWith(checkout))
    .join(path.delimiter);
}

/** The shell lines of init's "Next steps:" block, up to the blank line that ends it. */
function nextSteps(stdout: string): string[] {
  const lines = stdout.split('\n');
  const start = lines.indexOf('Next steps:');
  assert.ok(start >= 0, `no next steps in:\n${stdout}`);
  const block: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (line.trim() === '') break;
    block.push(line);
  }
  return block;
}

test('the packed tarball installs into an empty prefix and its starter runs as printed', { timeout: 600_000 }, async () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'agentspec-tarball-'));
  const prefix = path.join(tmp, 'prefix');
  const work = path.join(tmp, 'work');
  mkdirSync(prefix);
  mkdirSync(work);
  const npmEnv: NodeJS.ProcessEnv = { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };
  // npm's own variables from a surrounding `npm test` (prefix, global...) must not steer these runs.
  for (const k of Object.keys(npmEnv)) if (k.startsWith('npm_') && !['npm_config_audit', 'npm_config_fund', 'npm_config_update_notifier', 'npm_config_cache'].includes(k)) delete npmEnv[k];
  const userEnv: NodeJS.ProcessEnv = { ...npmEnv, PATH: [path.join(prefix, 'bin'), pathWithout(ROOT)].join(path.delimiter), NO_COLOR: '1' };
  let project: string | undefined;
  try {
    // The dist/ that `npm test` built first (pretest); packing without `prepare` does not rebuild it
    // under the feet of the tests that run the CLI at the same time.
    const pack = await run('npm', ['pack', '--ignore-scripts', '--pack-destination', tmp], { cwd: ROOT, env: npmEnv, timeoutMs: 300_000 });
    assert.equal(pack.code, 0, explain('npm pack', pack));
    const tgz = readdirSync(tmp).find((f) => f.endsWith('.tgz'));
    assert.ok(tgz !== undefined && tgz.startsWith('agentspec-cli-'), `tarball name: ${String(tgz)}`);

    const install = await run('npm', ['install', '-g', '--prefix', prefix, '--prefer-offline', path.join(tmp, tgz)], { cwd: work, env: npmEnv, timeoutMs: 300_000 });
    assert.equal(install.code, 0, explain('npm install -g', install));
    const installed = path.join(prefix, 'lib', 'node_modules', '@agentspec', 'cli');
    const manifest = JSON.parse(readFileSync(path.join(installed, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    assert.equal(manifest.dependencies.tsx, undefined, 'tsx is not a runtime dependency');
    assert.equal(existsSync(path.join(installed, 'node_modules', 'tsx')), false, 'tsx was not installed');
    assert.equal(existsSync(path.join(installed, 'src')), false, 'the TypeScript sources are not shipped');
    assert.ok(existsSync(path.join(installed, 'dist', 'cli', 'main.js')));

    const version = await run('agentspec', ['--version'], { cwd: work, env: userEnv });
    assert.equal(version.code, 0, explain('agentspec --version', version));
    assert.equal(version.stdout.trim(), (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version);

    const port = await freePort();
    const init = await run('agentspec', ['init', 'demo', '--port', String(port)], { cwd: work, env: userEnv });
    assert.equal(init.code, 0, explain('agentspec init', init));
    project = path.join(work, 'demo');
    const steps = nextSteps(init.stdout);
    assert.ok(steps.some((l) => /^\s*agentspec validate /.test(l)));
    assert.ok(steps.some((l) => /^\s*curl /.test(l)));
    // As printed, except that there is no terminal to confirm on.
    const script = steps.map((l) => l.replace(/^(\s*agentspec (?:apply|destroy) \S+)/, '$1 --auto-approve')).join('\n');
    // Marks between the steps show which output belongs to which command.
    const marked = script.replace(/^(\s*)(agentspec|curl) /gm, '$1echo; echo "=== $2"; $2 ');
    const ran = await run('bash', ['-euo', 'pipefail', '-c', marked], { cwd: work, env: userEnv, timeoutMs: 180_000 });
    assert.equal(ran.code, 0, explain('next steps', ran));
    assert.match(ran.stdout, /✓ 1 file\(s\) valid/);
    assert.match(ran.stdout, /Plan: 2 to create/);
    assert.match(ran.stdout, /Apply complete! 2 created, 0 updated, 0 destroyed\./);
    const reply = /=== curl\n(.*)\n/.exec(ran.stdout);
    assert.ok(reply !== null, explain('next steps', ran));
    const body = JSON.parse(reply[1]!) as { output?: unknown; session_id?: unknown };
    assert.equal(typeof body.session_id, 'string', reply[1]);
    assert.match(ran.stdout, /Destroy complete! 2 destroyed\./);
    // Quiet by default: nothing on stderr when all went well.
    assert.equal(ran.stderr, '', explain('next steps', ran));

    // The README's library snippet on plain Node, against the installed package.
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const snippet = /## Using the state library\n+```ts\n([\s\S]*?)```/.exec(readme);
    assert.ok(snippet !== null, 'README has the state library snippet');
    mkdirSync(path.join(work, 'lib-user', 'node_modules', '@agentspec'), { recursive: true });
    symlinkSync(installed, path.join(work, 'lib-user', 'node_modules', '@agentspec', 'cli'));
    writeFileSync(path.join(work, 'lib-user', 'snippet.mjs'), `${snippet[1]!}\nconsole.log('snippet ok');\n`);
    const lib = await run(process.execPath, ['snippet.mjs'], { cwd: path.join(work, 'lib-user'), env: userEnv });
    assert.equal(lib.code, 0, explain('README library snippet', lib));
    assert.match(lib.stdout, /snippet ok/);
    assert.ok(existsSync(path.join(work, 'lib-user', '.agentspec.state.json')), 'the snippet saved a state');
  } finally {
    if (project !== undefined && existsSync(path.join(project, '.agentspec.state.json'))) {
      // Whatever failed above, no runtime outlives the test.
      await run(path.join(prefix, 'bin', 'agentspec'), ['destroy', '--auto-approve', 'main.ias'], { cwd: project, env: userEnv });
    }
    rmSync(tmp, { recursive: true, force: true });
  }
});
