import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { errorMessage } from '../errors.ts';
import { logger } from '../log.ts';

/** Write a file so that readers see the old bytes or the new ones, never a torn mix. */
export function writeFileDurably(file: string, data: string): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** The pid in a pid file, or undefined when there is none (or it does not hold a pid). */
export function readPidFile(file: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const pid = Number(text.trim());
  if (!Number.isInteger(pid) || pid <= 0) {
    logger('adapters').warn({ path: file, content: text.slice(0, 40) }, 'pid file does not hold a pid; ignoring it');
    return undefined;
  }
  return pid;
}

/** Remove the pid file if it still names `pid` (another start may have replaced it). */
export function removePidFile(file: string, pid?: number): void {
  try {
    if (pid !== undefined && readPidFile(file) !== pid) return;
    rmSync(file, { force: true });
  } catch (err) {
    logger('adapters').warn({ path: file, err: errorMessage(err) }, 'could not remove the pid file');
  }
}

/** The last `lines` lines of a file, for error messages; empty when it cannot be read. */
export function tailOf(file: string, lines: number): string {
  try {
    const text = readFileSync(file, 'utf8');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  } catch (err) {
    logger('adapters').debug({ path: file, err: errorMessage(err) }, 'could not read the log tail');
    return '';
  }
}
