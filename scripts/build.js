#!/usr/bin/env node
// Builds dist/ (the shipped JavaScript) from src/: tsc emits .js and .d.ts with `.ts` imports rewritten
// to `.js`; tsc leaves the specifiers inside .d.ts files as written, so they are rewritten here, and
// files that are not TypeScript (static assets) are copied as they are.
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
