import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

/** The agentspec version (from package.json), recorded in lock info and printed by --version. */
export const VERSION: string = pkg.version;
