import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE_NAME = '@agentspec/cli';

// The same module runs from src/ (tests, through tsx), from dist/ (the shipped build), bundled
// into dist/runtime.cjs and from other build folders, so the package root is found by walking up
// rather than by a fixed `../`.
function findPackage(): { root: string; version: string } {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = path.join(dir, 'package.json');
    let text: string | undefined;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (text !== undefined) {
      const pkg = JSON.parse(text) as { name?: string; version?: string };
      if (pkg.name === PACKAGE_NAME && typeof pkg.version === 'string') return { root: dir, version: pkg.version };
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`${PACKAGE_NAME}: package.json not found above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

const found = findPackage();

/** The agentspec version (from package.json), recorded in lock info and printed by --version. */
export const VERSION: string = found.version;

/** The directory of agentspec's package.json (where bin/ and dist/ are). */
export const PACKAGE_ROOT: string = found.root;
