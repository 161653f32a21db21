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
