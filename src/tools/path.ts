import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch (err) {
    // Not there or not executable: the caller tries the next directory.
    return (err as NodeJS.ErrnoException).code === undefined;
  }
}

/**
 * findOnPath over one PATH with each name looked up once: for one pass over a whole spec, where
 * many skills name the same binary (each lookup is a stat per PATH directory).
 */
export function pathLookup(searchPath: string | undefined): (name: string) => string | undefined {
  const found = new Map<string, string | undefined>();
  return (name) => {
    if (!found.has(name)) found.set(name, findOnPath(name, searchPath));
    return found.get(name);
  };
}

/** The absolute path `name` runs as (PATH lookup for a bare name), or undefined. */
export function findOnPath(name: string, searchPath: string | undefined): string | undefined {
  if (name.includes('/')) {
    const abs = path.resolve(name);
    return executable(abs) ? abs : undefined;
  }
  for (const dir of (searchPath ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, name);
    if (executable(candidate)) return path.resolve(candidate);
  }
  return undefined;
}
