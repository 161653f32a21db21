import { randomUUID } from 'node:crypto';
import { constants as C, watch, type FSWatcher } from 'node:fs';
import fs, { type FileHandle } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { logger } from '../log.ts';
import { VERSION } from '../version.ts';
import { StateLockedError, StateLockLostError, StateLockPathError, StateUnlockError } from './errors.ts';
import type { LockInfo } from './types.ts';

type KernelLocks = typeof import('fs-native-extensions');
let kernelLocks: KernelLocks | undefined;

// The native addon is loaded at the first lock, not at import: commands that never lock (`--version`,
// `validate`, `plan`) start without it.
function kernel(): KernelLocks {
  kernelLocks ??= createRequire(import.meta.url)('fs-native-extensions') as KernelLocks;
  return kernelLocks;
}

function tryLock(fd: number): boolean {
  return kernel().tryLock(fd);
}

function releaseKernelLock(fd: number): void {
  kernel().unlock(fd);
}

export const DEFAULT_LOCK_TIMEOUT_MS = 30_000;
export const DEFAULT_STALE_AFTER_MS = 5 * 60_000;
const FIRST_RETRY_MS = 2;
const MAX_RETRY_MS = 50;

export interface AcquireOptions {
  operation: string;
  timeoutMs?: number;
  staleAfterMs?: number;
  signal?: AbortSignal;
}

/**
 * The name this machine goes by in lock info. AGENTSPEC_HOSTNAME overrides it for containers that
 * share a volume but get random hostnames (a heartbeat is only trusted across different hosts).
 */
export function lockHostname(): string {
  return process.env.AGENTSPEC_HOSTNAME ?? os.hostname();
}

/** The user name recorded in lock info. */
export function whoAmI(): string {
  try {
    return os.userInfo().username;
  } catch (err) {
    // No passwd entry (common in containers): fall back to the uid rather than fail the lock.
    logger('state').debug({ err }, 'could not read the user name for lock info');
    return process.env.USER ?? `uid ${process.getuid?.() ?? '?'}`;
  }
}

function isLockInfo(v: unknown): v is LockInfo {
  if (v === null || typeof v !== 'object') return false;
  const o = v as Record<string, unknown>;
  return (
    typeof o.id === 'string' &&
    typeof o.pid === 'number' &&
    typeof o.hostname === 'string' &&
    typeof o.created === 'string' &&
    typeof o.heartbeat === 'string' &&
    typeof o.operation === 'string' &&
    typeof o.who === 'string' &&
    typeof o.version === 'string'
  );
}

/** Parse lock file content; null when empty or not lock info (a holder between create and write). */
export function parseLockInfo(text: string): LockInfo | null {
  if (text.trim() === '') return null;
  try {
    const v: unknown = JSON.parse(text);
    return isLockInfo(v) ? v : null;
  } catch (err) {
    logger('state').debug({ err }, 'lock file content is not lock info');
    return null;
  }
}

// Lock info is a few hundred bytes; one read of this size gets all of it without a stat first.
const INFO_READ_SIZE = 8192;

async function readHandle(h: FileHandle): Promise<string> {
  const buf = Buffer.alloc(INFO_READ_SIZE);
  const { bytesRead } = await h.read(buf, 0, buf.length, 0);
  return buf.subarray(0, bytesRead).toString('utf8');
}

async function writeInfo(h: FileHandle, info: LockInfo): Promise<void> {
  const buf = Buffer.from(`${JSON.stringify(info)}\n`, 'utf8');
  // Write first, then cut: a reader never sees an empty file once info has been written.
  await h.write(buf, 0, buf.length, 0);
  await h.truncate(buf.length);
  await h.sync();
}

/** Open (creating) the lock file without following a symlink at its path. */
async function openLockFile(lockPath: string, create: boolean): Promise<FileHandle> {
  let h: FileHandle;
  try {
    h = await fs.open(lockPath, C.O_RDWR | C.O_NOFOLLOW | (create ? C.O_CREAT : 0), 0o600);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' || code === 'EMLINK') throw new StateLockPathError(lockPath, 'it is a symbolic link');
    throw err;
  }
  const st = await h.stat();
  if (!st.isFile()) {
    await h.close();
    throw new StateLockPathError(lockPath, 'it is not a regular file');
  }
  return h;
}

interface Identity {
  dev: number;
  ino: number;
}

async function pathIdentity(p: string): Promise<Identity | null> {
  try {
    const st = await fs.lstat(p);
    return { dev: st.dev, ino: st.ino };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

function sameFile(a: Identity | null, b: Identity): boolean {
  return a !== null && a.dev === b.dev && a.ino === b.ino;
}

/** Remove the lock path only while it still names `ident` (never someone else's newer lock file). */
async function unlinkIfSame(lockPath: string, ident: Identity): Promise<boolean> {
  if (!sameFile(await pathIdentity(lockPath), ident)) return false;
  try {
    await fs.unlink(lockPath);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

function ageMs(iso: string): number {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? Number.POSITIVE_INFINITY : Date.now() - t;
}

/**
 * Sleeps between attempts; woken early when the lock file's name changes in its directory (a holder
 * unlinking it on release), so hand-off does not wait for the next poll. Polling stays the fallback
 * (a crashed holder's kernel lock vanishes without any file event).
 */
class Waiter {
  private watcher: FSWatcher | null = null;
  private wake: (() => void) | null = null;
  private dirty = false;

  constructor(private readonly lockPath: string) {}

  start(): void {
    if (this.watcher !== null) return;
    const base = path.basename(this.lockPath);
    try {
      this.watcher = watch(path.dirname(this.lockPath), { persistent: false }, (_event, name) => {
        if (name !== null && name.toString() !== base) return;
        this.dirty = true;
        this.wake?.();
      });
      this.watcher.on('error', (err) => {
        logger('state').debug({ err, path: this.lockPath }, 'lock directory watch failed; polling only');
        this.stop();
      });
    } catch (err) {
      logger('state').debug({ err, path: this.lockPath }, 'cannot watch the lock directory; polling only');
    }
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (this.dirty) {
      this.dirty = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        this.wake = null;
        this.dirty = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  stop(): void {
    this.watcher?.close();
    this.watcher = null;
  }
}

/**
 * An exclusive kernel lock on `<state>.lock` plus the holder's info written inside it
 * (DESIGN.md "Lock"). The kernel frees the lock when the holder dies; the info file lets waiters
 * say who holds it and lets the holder prove, before every write, that the lock is still its own.
 */
export class FileLock {
  private released = false;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private pending: Promise<void> = Promise.resolve();
  private readonly acquiredAt = Date.now();

  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    private readonly ident: Identity,
    private info: LockInfo,
    staleAfterMs: number,
  ) {
    const every = Math.max(Math.floor(staleAfterMs / 3), 10);
    this.heartbeatTimer = setInterval(() => this.beat(), every);
    this.heartbeatTimer.unref();
  }

  get lockInfo(): LockInfo {
    return { ...this.info };
  }

  static async acquire(lockPath: string, opts: AcquireOptions): Promise<FileLock> {
    const timeoutMs = opts.timeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
    const staleAfterMs = opts.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
    const started = Date.now();
    const deadline = started + timeoutMs;
    const host = lockHostname();
    const log = logger('state');
    const waiter = new Waiter(lockPath);
    let attempt = 0;
    let waitLogged = false;
    try {
      for (;;) {
        opts.signal?.throwIfAborted();
        const h = await openLockFile(lockPath, true);
        let kept = false;
        try {
          const st = await h.stat();
          const ident = { dev: st.dev, ino: st.ino };
          if (tryLock(h.fd)) {
            // Someone may have unlinked or replaced the path between our open and our lock: a lock
            // on an inode no longer at the path excludes nobody, so drop it and start over.
            if (!sameFile(await pathIdentity(lockPath), ident)) {
              releaseKernelLock(h.fd);
              continue;
            }
            const previous = parseLockInfo(await readHandle(h));
            if (previous !== null) {
              // The file names a holder, yet the kernel lock was free: that holder died without unlocking.
              log.warn(
                { path: lockPath, stale_pid: previous.pid, stale_age: ageMs(previous.heartbeat), stale_hostname: previous.hostname },
                'stale lock broken',
              );
            }
            const now = new Date().toISOString();
            const info: LockInfo = {
              id: randomUUID(),
              pid: process.pid,
              hostname: host,
              created: now,
              heartbeat: now,
              operation: opts.operation,
              who: whoAmI(),
              version: VERSION,
            };
            await writeInfo(h, info);
            kept = true;
            log.info({ path: lockPath }, 'lock acquired');
            return new FileLock(lockPath, h, ident, info, staleAfterMs);
          }

          const holder = await readHolder(h);
          // The kernel lock only excludes processes on this machine's view of the file; a holder on
          // another host (network filesystem) is judged by its heartbeat instead.
          if (holder !== null && holder.hostname !== host && ageMs(holder.heartbeat) > staleAfterMs) {
            if (await unlinkIfSame(lockPath, ident)) {
              log.warn(
                { path: lockPath, stale_pid: holder.pid, stale_age: ageMs(holder.heartbeat), stale_hostname: holder.hostname },
                'stale lock broken',
              );
              continue;
            }
          }
          if (!waitLogged) {
            waitLogged = true;
            log.info({ path: lockPath, holder_pid: holder?.pid, holder_hostname: holder?.hostname }, 'lock wait started');
          }
          const now = Date.now();
          if (now >= deadline) {
            log.error({ path: lockPath, holder_pid: holder?.pid, wait_ms: now - started }, 'lock timeout');
            throw new StateLockedError(lockPath, holder, now - started);
          }
          waiter.start();
          const backoff = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** attempt++);
          const jittered = backoff / 2 + Math.random() * (backoff / 2);
          await h.close();
          kept = true; // closed above; the finally below must not close it again
          await waiter.sleep(Math.max(1, Math.min(jittered, deadline - now)), opts.signal);
        } finally {
          if (!kept) await h.close();
        }
      }
    } finally {
      waiter.stop();
    }
  }

  /**
   * Fencing: throws StateLockLostError unless the lock path still names the file this process
   * locked and that file still holds this process's lock id.
   */
  async assertOwned(): Promise<void> {
    if (this.released) throw new StateLockLostError(this.path, this.info.id, 'the lock was already released');
    // Both reads at once: this runs twice on every save.
    const [current, content] = await Promise.all([pathIdentity(this.path), readHandle(this.handle)]);
    if (current === null) throw new StateLockLostError(this.path, this.info.id, 'the lock file was removed (broken as stale or force-unlocked)');
    if (!sameFile(current, this.ident)) {
      throw new StateLockLostError(this.path, this.info.id, 'the lock file was replaced by another holder');
    }
    const onDisk = parseLockInfo(content);
    if (onDisk?.id !== this.info.id) {
      throw new StateLockLostError(this.path, this.info.id, `the lock file now names lock ${onDisk?.id ?? '(none)'}`);
    }
  }

  private beat(): void {
    if (this.released) return;
    this.pending = this.pending
      .then(async () => {
        if (this.released) return;
        this.info = { ...this.info, heartbeat: new Date().toISOString() };
        await writeInfo(this.handle, this.info);
      })
      .catch((err: unknown) => {
        logger('state').warn({ path: this.path, err }, 'lock heartbeat failed');
      });
  }

  /** Remove the lock file if it is still ours, then release and close. Cleanup errors are logged. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    if (this.heartbeatTimer !== null) clearInterval(this.heartbeatTimer);
    await this.pending;
    const log = logger('state');
    try {
      const onDisk = parseLockInfo(await readHandle(this.handle));
      if (onDisk?.id === this.info.id) await unlinkIfSame(this.path, this.ident);
    } catch (err) {
      log.warn({ path: this.path, err }, 'could not remove the lock file on release');
    }
    try {
      releaseKernelLock(this.handle.fd);
    } catch (err) {
      log.warn({ path: this.path, err }, 'could not release the kernel lock');
    }
    try {
      await this.handle.close();
    } catch (err) {
      log.warn({ path: this.path, err }, 'could not close the lock file');
    }
    log.info({ path: this.path, held_ms: Date.now() - this.acquiredAt }, 'lock released');
  }
}

/** Holder info of a locked file; a holder that has just created the file may not have written yet. */
async function readHolder(h: FileHandle): Promise<LockInfo | null> {
  for (let i = 0; i < 3; i++) {
    const info = parseLockInfo(await readHandle(h));
    if (info !== null) return info;
    await new Promise((r) => setTimeout(r, 1));
  }
  return null;
}

export interface LockStatus {
  info: LockInfo | null;
  /** A live process holds the kernel lock. */
  held: boolean;
}

/** Who holds the lock, without taking it for longer than a probe; null when there is no lock file. */
export async function inspectLock(lockPath: string): Promise<LockStatus | null> {
  let h: FileHandle;
  try {
    h = await openLockFile(lockPath, false);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    const free = tryLock(h.fd);
    if (free) {
      releaseKernelLock(h.fd);
      return { info: parseLockInfo(await readHandle(h)), held: false };
    }
    return { info: await readHolder(h), held: true };
  } finally {
    await h.close();
  }
}

/**
 * Remove the lock `id` (like `terraform force-unlock`). A dead holder's lock is removed at once; a
 * live holder's only with `force` (it will then fail its next save with StateLockLostError).
 */
export async function forceUnlockFile(lockPath: string, id: string, opts: { force?: boolean } = {}): Promise<LockInfo> {
  let h: FileHandle;
  try {
    h = await openLockFile(lockPath, false);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new StateUnlockError(lockPath, `Not locked: there is no lock file ${lockPath}.`);
    }
    throw err;
  }
  try {
    const st = await h.stat();
    const free = tryLock(h.fd);
    const info = free ? parseLockInfo(await readHandle(h)) : await readHolder(h);
    if (info?.id !== id) {
      if (free) releaseKernelLock(h.fd);
      throw new StateUnlockError(
        lockPath,
        `Lock id ${id} is not the current lock of ${lockPath}` +
          (info === null ? ' (its lock information is unreadable).' : ` (that is ${info.id}, held by pid ${info.pid} on ${info.hostname}).`) +
          ' Check `agentspec state lock-info`.',
      );
    }
    if (!free && opts.force !== true) {
      throw new StateUnlockError(
        lockPath,
        `Lock ${id} is held by a live process (pid ${info.pid} on ${info.hostname}, operation "${info.operation}", since ${info.created}). ` +
          'Wait for it to finish, or pass --force to break it anyway (that holder will then fail its next save and write nothing).',
      );
    }
    const removed = await unlinkIfSame(lockPath, { dev: st.dev, ino: st.ino });
    if (free) releaseKernelLock(h.fd);
    logger('state').warn({ path: lockPath, lock_id: id, holder_pid: info.pid, holder_alive: !free, removed }, 'lock force-unlocked');
    return info;
  } finally {
    await h.close();
  }
}
