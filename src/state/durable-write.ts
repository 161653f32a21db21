import { randomBytes } from 'node:crypto';
import { constants as C, writeSync, type BigIntStats } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { AgentspecError } from '../errors.ts';
import { logger } from '../log.ts';
import { StateChangedError, StateWriteError } from './errors.ts';

export interface DurableWriteOptions {
  /** Final path of the file. */
  path: string;
  data: string;
  /**
   * Keep the current file as this backup before replacing it. Left out when restoring from the
   * backup itself (the backup must not be overwritten by the corrupt file it replaces).
   */
  backupPath?: string;
  /**
   * Called before the backup is rotated and again right before the final rename; throwing stops
   * the write with nothing changed (used to check that this process still owns the lock).
   */
  fence?: () => Promise<void>;
  /** Mode of the file being replaced, when the caller already knows it (saves a stat). */
  mode?: number;
  /**
   * What the caller last saw at `path` (null: no file). Checked again right before the final rename,
   * after the last fence, so that a writer that bypassed the lock meanwhile is detected instead of
   * overwritten.
   */
  expected?: FileIdentity | null;
}

/** Identity of a file as far as a save cares: which inode, and whether its content changed. */
export interface FileIdentity {
  dev: bigint;
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
}

async function assertUnchanged(target: string, expected: FileIdentity | null): Promise<void> {
  let st: BigIntStats | null;
  try {
    st = await fs.lstat(target, { bigint: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    st = null;
  }
  if (expected === null) {
    if (st !== null) throw new StateChangedError(target, 'it was created by someone else');
    return;
  }
  if (st === null) throw new StateChangedError(target, 'it was removed');
  if (st.dev !== expected.dev || st.ino !== expected.ino) throw new StateChangedError(target, 'it was replaced by another file');
  if (st.size !== expected.size || st.mtimeNs !== expected.mtimeNs) throw new StateChangedError(target, 'its content was rewritten');
}

const DEFAULT_MODE = 0o600;

/**
 * Test-only crash hook: AGENTSPEC_TEST_CRASH_POINT names a step of the save at which the process
 * kills itself with SIGKILL (after saying so on stderr), so crash tests hit each critical point
 * exactly instead of by chance. Read once; unset in normal use.
 */
const CRASH_POINT = process.env.AGENTSPEC_TEST_CRASH_POINT;
export type CrashPoint = 'after-link' | 'after-backup-rename' | 'after-state-rename';

function crashPoint(name: CrashPoint): void {
  if (CRASH_POINT !== name) return;
  writeSync(2, `crash point ${name}\n`);
  process.kill(process.pid, 'SIGKILL');
}

/** Temp names: `.<base>.<16 hex>.tmp` (new content) and `.<base>.bak.<16 hex>.tmp` (backup link). */
function tempName(target: string, kind: 'new' | 'bak'): string {
  const base = path.basename(target);
  const rand = randomBytes(8).toString('hex');
  return path.join(path.dirname(target), kind === 'new' ? `.${base}.${rand}.tmp` : `.${base}.bak.${rand}.tmp`);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Matches the temp files durableWrite may leave behind when it is killed. */
export function tempFilePattern(target: string): RegExp {
  return new RegExp(`^\\.${escapeRegExp(path.basename(target))}\\.(bak\\.)?[0-9a-f]{16}\\.tmp$`);
}

/**
 * Remove temp files left by a writer that was killed mid-save. Only safe while holding the lock
 * (no other writer can have a save in flight). Returns the names removed.
 */
export async function removeLeftoverTemps(target: string): Promise<string[]> {
  const dir = path.dirname(target);
  const pattern = tempFilePattern(target);
  const removed: string[] = [];
  for (const name of await fs.readdir(dir)) {
    if (!pattern.test(name)) continue;
    try {
      await fs.unlink(path.join(dir, name));
      removed.push(name);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        logger('state').warn({ path: path.join(dir, name), err }, 'could not remove leftover temp file');
      }
    }
  }
  return removed;
}

async function existingMode(target: string): Promise<number> {
  try {
    return (await fs.stat(target)).mode & 0o7777;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return DEFAULT_MODE;
    throw err;
  }
}

export async function fsyncDir(dir: string): Promise<void> {
  const h = await fs.open(dir, C.O_RDONLY | C.O_DIRECTORY);
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

async function removeQuietly(file: string): Promise<void> {
  try {
    await fs.unlink(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      logger('state').warn({ path: file, err }, 'could not remove temp file after a failed save');
    }
  }
}

/**
 * Replace `path` with `data` so that a crash at any instant leaves either the old file or the new
 * one, never a torn or missing file (DESIGN.md "Durable save"):
 * temp (O_EXCL) + fsync -> hard-link current as backup -> fence -> rename over -> fsync directory.
 * On failure before the final rename the state and backup are as they were and the temp is gone.
 */
export async function durableWrite(opts: DurableWriteOptions): Promise<BigIntStats> {
  const target = opts.path;
  const dir = path.dirname(target);
  const tmp = tempName(target, 'new');
  let tmpCreated = false;
  let written: BigIntStats;
  // The first ownership check only has to pass before the backup is touched, so it runs while the
  // temp file is written and synced instead of after. Its outcome is held as a value so a failed
  // check is never an unhandled rejection when the write fails first.
  const firstFence: Promise<unknown> =
    opts.fence === undefined ? Promise.resolve(undefined) : opts.fence().then(() => undefined, (err: unknown) => err ?? new Error('fence failed'));
  try {
    const mode = opts.mode ?? (await existingMode(target));
    const h = await fs.open(tmp, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, mode);
    tmpCreated = true;
    try {
      // open() applies the umask; the file must have exactly the mode of the file it replaces.
      // Independent operations on the same descriptor, so both are in flight at once.
      await Promise.all([h.chmod(mode), h.writeFile(opts.data, 'utf8')]);
      await h.sync();
      // Device, inode, size and mtime survive the rename: the caller can recognise the file later
      // without another stat of the final path.
      written = await h.stat({ bigint: true });
    } finally {
      await h.close();
    }

    const fenceError = await firstFence;
    if (fenceError !== undefined) throw fenceError;

    if (opts.backupPath !== undefined) {
      const bakTmp = tempName(target, 'bak');
      let linked = false;
      try {
        await fs.link(target, bakTmp);
        linked = true;
        crashPoint('after-link');
      } catch (err) {
        // No current file (first save, or deleted meanwhile): nothing to keep, the old backup stays.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
      if (linked) {
        try {
          await fs.rename(bakTmp, opts.backupPath);
          crashPoint('after-backup-rename');
        } catch (err) {
          await removeQuietly(bakTmp);
          throw err;
        }
      }
      // When the backup already is the current file (a writer was killed between its two renames),
      // rename() of one hard link over another of the same inode succeeds without doing anything,
      // leaving the temp link behind: remove it (usually ENOENT) while the fence runs.
      await Promise.all([linked ? removeQuietly(bakTmp) : Promise.resolve(), opts.fence?.()]);
    }
    // Last look before the point of no return: the lock proves no agentspec wrote meanwhile, this
    // proves nobody else did either.
    if (opts.expected !== undefined) await assertUnchanged(target, opts.expected);

    await fs.rename(tmp, target);
    tmpCreated = false;
    crashPoint('after-state-rename');
  } catch (err) {
    if (tmpCreated) await removeQuietly(tmp);
    if (err instanceof AgentspecError) throw err;
    throw new StateWriteError(target, err);
  }
  try {
    await fsyncDir(dir);
  } catch (err) {
    throw new StateWriteError(dir, err, 'make the new state durable (directory fsync) in');
  }
  return written;
}
