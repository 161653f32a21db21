#!/usr/bin/env node
// Builds dist/ (the shipped JavaScript) from src/: tsc emits .js and .d.ts with `.ts` imports rewritten
// to `.js`; tsc leaves the specifiers inside .d.ts files as written, so they are rewritten here, and
// files that are not TypeScript (static assets) are copied as they are. Then dist/runtime.cjs, what
// the process adapter starts runtimes from: the CLI bundled into one CommonJS file, with its code
// cache (see below).
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const src = path.join(root, 'src');
const dist = path.join(root, 'dist');
const extra = process.argv.slice(2);

// A file removed from src/ must not live on in dist/.
fs.rmSync(dist, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json'), ...extra], { stdio: 'inherit' });

const RELATIVE_TS = /(from\s+|import\s*\(\s*)(['"])(\.{1,2}\/[^'"]*?)\.ts\2/g;

function walk(dir, visit) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, visit);
    else visit(p);
  }
}

walk(dist, (p) => {
  if (!p.endsWith('.d.ts')) return;
  const text = fs.readFileSync(p, 'utf8');
  const fixed = text.replace(RELATIVE_TS, (_m, lead, q, spec) => `${lead}${q}${spec}.js${q}`);
  if (fixed !== text) fs.writeFileSync(p, fixed);
});

walk(src, (p) => {
  if (p.endsWith('.ts')) return;
  const to = path.join(dist, path.relative(src, p));
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.copyFileSync(p, to);
});

// The runtime `apply` starts is the CLI's `run`, and loading it is most of the apply's wait. Node 20
// loads the ~800 ES modules of dist/ and its dependencies one by one; the same code as one CommonJS
// file starts in about two thirds of the time, and with V8's code cache for it (written by a
// warm-up start below) in less than half. The other commands keep dist/: they load only the
// modules they use, fewer than this file's whole text. Left out (and loaded from node_modules when
// used): the native addons, and the clients only some runtimes need (Redis, PostgreSQL, MCP), which
// would be most of the file's size. pino and pino-pretty are in: every runtime logs.
const esbuild = createRequire(import.meta.url)('esbuild');
esbuild.buildSync({
  stdin: {
    contents:
      "import { main } from './cli/main.js';\n" +
      "import { loadLoggingFrom } from './log.js';\n" +
      "loadLoggingFrom((id) => (id === 'pino' ? require('pino') : require('pino-pretty')));\n" +
      "main(process.argv).then((code) => { process.exitCode = code; }, (err) => { process.stderr.write(`${err?.stack ?? err}\\n`); process.exitCode = 1; });\n",
    resolveDir: dist,
    sourcefile: 'runtime-entry.js',
  },
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  outfile: path.join(dist, 'runtime-bundle.cjs'),
  external: ['koffi', 'fs-native-extensions', 'pg', 'pg-native', 'redis', '@redis/*', '@modelcontextprotocol/sdk', '@modelcontextprotocol/sdk/*'],
  // import.meta does not exist in CommonJS: the bundle's own URL stands in (modules use it to find
  // package.json by walking up, and to require packages from node_modules).
  define: { 'import.meta.url': '__agentspecBundleUrl' },
  banner: { js: "const __agentspecBundleUrl = require('node:url').pathToFileURL(__filename).href;" },
  logLevel: 'warning',
});
fs.copyFileSync(path.join(root, 'scripts', 'runtime-loader.cjs'), path.join(dist, 'runtime.cjs'));
await warmUp();

/**
 * Start the runtime the way apply does (a tiny spec, its readiness pipe), answer one request, stop
 * it: the loader then writes the code cache of everything that ran. A runtime that cannot start
 * from the bundle fails the build, before anything ships it.
 */
async function warmUp() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'agentspec-build-'));
  const cache = path.join(tmp, 'runtime-bundle.cache');
  const ir = path.join(tmp, 'warm-up.json');
  const resource = (kind, name, attributes) => ({ kind, name, fqn: `warm-up/${kind}/${name}`, attributes, hash: `sha256:${name}` });
  fs.writeFileSync(
    ir,
    JSON.stringify({
      ir_version: '1.0',
      lang_version: '2.0',
      package: { name: 'warm-up', version: '0.0.0' },
      resources: [resource('Prompt', 'p', { content: 'warm-up' }), resource('Agent', 'a', { model: 'echo', prompt: 'p' })],
    }),
  );
  try {
    const child = spawn(process.execPath, [path.join(dist, 'runtime.cjs'), 'run', '--ir', ir, '--port', '0', '--host', '127.0.0.1'], {
      cwd: tmp,
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
      // Nothing of the builder's environment (API keys, log settings) may change what runs.
      env: { PATH: process.env.PATH ?? '', HOME: tmp, NO_COLOR: '1', AGENTSPEC_READY_FD: '3', AGENTSPEC_CODE_CACHE_OUT: cache },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    const exited = once(child, 'exit');
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    try {
      const ready = await Promise.race([once(child.stdio[3], 'data').then(() => true), exited.then(() => false)]);
      const url = /^listening on (http:\/\/\S+)$/m.exec(stdout)?.[1];
      if (!ready || url === undefined) throw new Error(`the bundled runtime did not start:\n${stderr}`);
      const res = await fetch(`${url}/v1/agents/a/invoke`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"message":"warm-up"}' });
      if (res.status !== 200) throw new Error(`the bundled runtime answered ${res.status}: ${await res.text()}`);
      child.kill('SIGTERM');
      const [code, signal] = await exited;
      if (code !== 0) throw new Error(`the bundled runtime exited with ${code ?? signal} when stopped:\n${stderr}`);
    } finally {
      clearTimeout(timer);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    fs.copyFileSync(cache, path.join(dist, 'runtime-bundle.cache'));
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
