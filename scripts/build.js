#!/usr/bin/env node
// Builds dist/ (the shipped JavaScript) from src/: tsc emits .js and .d.ts with `.ts` imports rewritten
// to `.js`; tsc leaves the specifiers inside .d.ts files as written, so they are rewritten here, and
// files that are not TypeScript (static assets) are copied as they are. Then dist/runtime.cjs: the
// CLI bundled into one CommonJS file, which the process adapter starts as the runtime (see below).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
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
// file starts in about two thirds of the time. The other commands keep dist/: they load only the
// modules they use, fewer than this file's whole text. Left out (and loaded from node_modules when
// used): the native addons, and the clients only some runtimes need (Redis, PostgreSQL, MCP), which
// would be most of the file's size.
const esbuild = createRequire(import.meta.url)('esbuild');
esbuild.buildSync({
  stdin: {
    contents:
      "import { main } from './cli/main.js';\n" +
      "main(process.argv).then((code) => { process.exitCode = code; }, (err) => { process.stderr.write(`${err?.stack ?? err}\\n`); process.exitCode = 1; });\n",
    resolveDir: dist,
    sourcefile: 'runtime-entry.js',
  },
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  outfile: path.join(dist, 'runtime.cjs'),
  external: ['koffi', 'fs-native-extensions', 'pg', 'pg-native', 'redis', '@redis/*', '@modelcontextprotocol/sdk', '@modelcontextprotocol/sdk/*'],
  // import.meta does not exist in CommonJS: the bundle's own URL stands in (modules use it to find
  // package.json by walking up, and to require packages from node_modules).
  define: { 'import.meta.url': '__agentspecBundleUrl' },
  banner: { js: "const __agentspecBundleUrl = require('node:url').pathToFileURL(__filename).href;" },
  logLevel: 'warning',
});
