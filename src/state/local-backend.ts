import { constants as C, lstatSync, realpathSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { AgentspecError, errorMessage } from '../errors.ts';
import { logger } from '../log.ts';
import { durableWrite, removeLeftoverTemps, type FileIdentity } from './durable-write.ts';
import {
  StateCorruptedError,
  StateInvalidEntriesError,
  StateLineageMismatchError,
  StateNotLockedError,
  StatePathError,
  StateReadError,
  StateSchemaError,
  StateSerialMismatchError,
  StateVersionError,
} from './errors.ts';
import { FileLock, fileKind, forceUnlockFile, inspectLock } from './file-lock.ts';
import { StateFormatError, UnsupportedVersionError, checkEntries, emptyState, newLineage, parseState, serializeState } from './format.ts';
import { STATE_FORMAT_VERSION, type Backend, type LoadOptions, type LockInfo, type LockOptions, type State, type StateEntry } from './types.ts';

/** Identity of the state file as last read or written by this process (to skip re-reading it on save). */
type FileStamp = FileIdentity;

type ReadResult =
  | { kind: 'missing' }
  | { kind: 'ok'; state: State; legacy: boolean; text: string; stamp: FileStamp }
  | { kind: 'corrupt'; error: Error };

function stampOf(st: { dev: bigint; ino: bigint; size: bigint; mtimeNs: bigint }): FileStamp {
  return { dev: st.dev, ino: st.ino, size: st.size, mtimeNs: st.mtimeNs };
}

function sameStamp(a: FileStamp, b: FileStamp): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs;
}

function copyState(s: State): State {
  return { ...s, entries: s.entries.slice() };
}

/**
 * A symlinked state file is followed on purpose: the state, its backup, its lock and the save's temp
 * file all live next to the link's target, and the link itself is never replaced (a rename over the
 * link would leave the real file behind, silently forked). A dangling link is refused.
 */
function resolveStatePath(p: string): string {
  let isLink: boolean;
  try {
    isLink = lstatSync(p).isSymbolicLink();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return p;
    throw new StateReadError(p, err);
  }
  if (!isLink) return p;
  try {
    return realpathSync(p);
  } catch (err) {
    throw new StatePathError(p, `it is a symbolic link whose target cannot be resolved (${errorMessage(err)})`);
  }
}

/**
 * The embedded default backend: one JSON file, its `.bak` and its `.lock` side by side
 * (DESIGN.md "State"). Persistence lives here; locking lives in FileLock.
 */
export class LocalBackend implements Backend {
  readonly path: string;
  readonly backupPath: string;
  readonly lockPath: string;
  private heldLock: FileLock | null = null;
  private tempsChecked = false;
  /** What this process last loaded or saved: the base for the lineage and serial checks on save. */
  private known: { serial: number; lineage: string; stamp: FileStamp | null } | null = null;

  constructor(opts: { path: string }) {
    this.path = resolveStatePath(path.resolve(opts.path));
    this.backupPath = `${this.path}.bak`;
    this.lockPath = `${this.path}.lock`;
  }

  get location(): string {
    return this.path;
  }

  private async readStateFile(file: string): Promise<ReadResult> {
    let text: string;
    let stamp: FileStamp;
    try {
      // Non-blocking, then fstat: a FIFO or device at the path is refused at once instead of hanging
      // (while holding the lock) on an open or read that never returns.
      const h = await fs.open(file, C.O_RDONLY | C.O_NONBLOCK);
      try {
        const st = await h.stat({ bigint: true });
        if (!st.isFile()) throw new StatePathError(file, `it is ${fileKind(st)}, not a regular file`);
        stamp = stampOf(st);
        text = await h.readFile('utf8');
      } finally {
        await h.close();
      }
    } catch (err) {
      if (err instanceof StatePathError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return { kind: 'missing' };
      if (code === 'ENXIO' || code === 'ENODEV') throw new StatePathError(file, 'it is a socket or device, not a regular file');
      throw new StateReadError(file, err);
    }
    try {
      const { state, legacy } = parseState(text);
      return { kind: 'ok', state, legacy, text, stamp };
    } catch (err) {
      if (err instanceof UnsupportedVersionError) {
        // A newer format is not corruption: falling back to an older backup would silently lose it.
        if (file === this.path) throw new StateVersionError(file, err.version);
        return { kind: 'corrupt', error: err };
      }
      if (err instanceof StateFormatError) {
        // Valid JSON in the wrong shape was written on purpose: the older backup must not replace it.
        if (file === this.path && err.kind === 'schema') {
          throw new StateSchemaError({ path: file, backupPath: this.backupPath, field: err.field, detail: err.message });
        }
        return { kind: 'corrupt', error: err };
      }
      throw err;
    }
  }

  private remember(state: State, stamp: FileStamp | null): void {
    this.known = { serial: state.serial, lineage: state.lineage, stamp };
  }

  /** Write the backup's bytes over the state (no backup rotation: the backup is the good copy). */
  private async restoreFromBackup(text: string): Promise<FileStamp | null> {
    const lock = this.heldLock;
    return stampOf(await durableWrite({ path: this.path, data: text, fence: lock === null ? undefined : () => lock.assertOwned() }));
  }

  async load(opts: LoadOptions = {}): Promise<State> {
    const repair = opts.repair === true;
    if (repair && this.heldLock === null) throw new StateNotLockedError(this.lockPath, 'load({ repair: true })');
    const log = logger('state');
    const primary = await this.readStateFile(this.path);
    if (primary.kind === 'ok') {
      this.remember(primary.state, primary.stamp);
      return copyState(primary.state);
    }

    if (primary.kind === 'corrupt') log.error({ path: this.path, error: primary.error.message }, 'state corrupted');
    const backup = await this.readStateFile(this.backupPath);
    if (backup.kind === 'missing' && primary.kind === 'missing') {
      const fresh = emptyState();
      this.remember(fresh, null);
      return fresh;
    }
    if (backup.kind !== 'ok') {
      const cause = primary.kind === 'corrupt' ? primary.error : new Error('the state file is missing');
      log.error(
        { path: this.path, backup_path: this.backupPath, error: backup.kind === 'corrupt' ? backup.error.message : 'backup missing' },
        'backup also corrupted',
      );
      throw new StateCorruptedError({
        path: this.path,
        backupPath: this.backupPath,
        backupUsed: backup.kind === 'corrupt',
        cause,
        backupCause: backup.kind === 'corrupt' ? backup.error : undefined,
      });
    }

    if (primary.kind === 'corrupt') log.error({ path: this.path, backup_path: this.backupPath }, 'backup fallback');
    else log.warn({ path: this.path, backup_path: this.backupPath }, 'state file missing; using its backup');
    if (repair) {
      const stamp = await this.restoreFromBackup(backup.text);
      log.warn({ path: this.path, backup_path: this.backupPath, serial: backup.state.serial }, 'state restored from backup');
      this.remember(backup.state, stamp);
    } else {
      log.warn({ path: this.path, backup_path: this.backupPath }, 'state not repaired (read-only load); a locked command will restore it');
      this.remember(backup.state, null);
    }
    return copyState(backup.state);
  }

  async save(entries: StateEntry[], baseSerial: number): Promise<State> {
    const lock = this.heldLock;
    if (lock === null) throw new StateNotLockedError(this.lockPath, 'save()');
    const checked = checkEntries(entries);
    if (!checked.ok) throw new StateInvalidEntriesError(this.path, checked.error);
    // A writer killed mid-save may have left temp files; under the lock none can be in flight.
    if (!this.tempsChecked) {
      await this.assertBackupPathUsable();
      const removed = await removeLeftoverTemps(this.path);
      if (removed.length > 0) logger('state').info({ path: this.path, removed }, 'removed temp files left by an interrupted save');
      this.tempsChecked = true;
    }

    const onDisk = await this.currentOnDisk();
    let lineage = this.known?.lineage ?? onDisk.lineage ?? newLineage();
    if (onDisk.exists) {
      if (onDisk.serial !== baseSerial) {
        // A holder whose lock was broken must learn that (not a serial mismatch caused by the new owner).
        await lock.assertOwned();
        throw new StateSerialMismatchError(this.path, baseSerial, onDisk.serial);
      }
      if (onDisk.lineage !== undefined) {
        if (this.known !== null && onDisk.lineage !== this.known.lineage) {
          await lock.assertOwned();
          throw new StateLineageMismatchError(this.path, this.known.lineage, onDisk.lineage);
        }
        lineage = onDisk.lineage;
      }
    }
    const next: State = { version: STATE_FORMAT_VERSION, serial: baseSerial + 1, lineage, entries: checked.sorted };
    const written = await durableWrite({
      path: this.path,
      data: serializeState(next),
      backupPath: this.backupPath,
      fence: () => lock.assertOwned(),
      ...(onDisk.mode === undefined ? {} : { mode: onDisk.mode }),
      expected: onDisk.stamp,
    });
    this.remember(next, stampOf(written));
    return copyState(next);
  }

  /** Serial and lineage of the file on disk, re-read only when it is not the file this process last saw. */
  private async currentOnDisk(): Promise<{ exists: boolean; serial: number; lineage?: string; mode?: number; stamp: FileStamp | null }> {
    if (this.known?.stamp != null) {
      try {
        const st = await fs.lstat(this.path, { bigint: true });
        if (sameStamp(stampOf(st), this.known.stamp)) {
          return { exists: true, serial: this.known.serial, lineage: this.known.lineage, mode: Number(st.mode & 0o7777n), stamp: this.known.stamp };
        }
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new StateReadError(this.path, err);
      }
    }
    const r = await this.readStateFile(this.path);
    if (r.kind === 'missing') return { exists: false, serial: 0, stamp: null };
    if (r.kind === 'corrupt') {
      // Saving would rotate the corrupt file into the backup and destroy the last good copy.
      throw new StateCorruptedError({
        path: this.path,
        backupPath: this.backupPath,
        backupUsed: false,
        cause: r.error,
        message:
          `State file ${this.path} became corrupted after it was loaded (${r.error.message}); refusing to save over it, ` +
          `which would replace the good backup ${this.backupPath}. Run \`agentspec state recover\` to restore the backup, then run the command again.`,
      });
    }
    return { exists: true, serial: r.state.serial, lineage: r.legacy ? undefined : r.state.lineage, stamp: r.stamp };
  }

  /** The backup is replaced by a rename on every save: refuse a directory, FIFO or device there up front. */
  private async assertBackupPathUsable(): Promise<void> {
    try {
      const st = await fs.lstat(this.backupPath);
      if (!st.isFile()) throw new StatePathError(this.backupPath, `it is ${st.isSymbolicLink() ? 'a symbolic link' : fileKind(st)}, not a regular file`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      if (err instanceof StatePathError) throw err;
      throw new StateReadError(this.backupPath, err);
    }
  }

  /** Explicitly replace the state with its backup (`agentspec state recover`); requires the lock. */
  async recover(): Promise<State> {
    if (this.heldLock === null) throw new StateNotLockedError(this.lockPath, 'recover()');
    const backup = await this.readStateFile(this.backupPath);
    if (backup.kind !== 'ok') {
      throw new AgentspecError(
        'E_STATE_NO_BACKUP',
        backup.kind === 'missing'
          ? `There is no backup ${this.backupPath} to recover from.`
          : `The backup ${this.backupPath} is corrupted (${backup.error.message}); nothing to recover from.`,
      );
    }
    const stamp = await this.restoreFromBackup(backup.text);
    logger('state').warn({ path: this.path, backup_path: this.backupPath, serial: backup.state.serial }, 'state restored from backup');
    this.remember(backup.state, stamp);
    return copyState(backup.state);
  }

  async lock(opts: LockOptions): Promise<LockInfo> {
    if (this.heldLock !== null) throw new AgentspecError('E_STATE_ALREADY_LOCKED', `This process already holds the lock ${this.lockPath}.`);
    try {
      await fs.mkdir(path.dirname(this.path), { recursive: true });
    } catch (err) {
      throw new AgentspecError('E_STATE_DIR', `Could not create the state directory ${path.dirname(this.path)}: ${errorMessage(err)}`, { cause: err });
    }
    this.heldLock = await FileLock.acquire(this.lockPath, opts);
    this.tempsChecked = false;
    return this.heldLock.lockInfo;
  }

  async unlock(): Promise<void> {
    const lock = this.heldLock;
    if (lock === null) return;
    this.heldLock = null;
    await lock.release();
  }

  async lockInfo(): Promise<LockInfo | null> {
    const status = await inspectLock(this.lockPath);
    return status?.held === true ? status.info : null;
  }

  /** The lock file's content and whether its holder is alive (for `state lock-info`). */
  async lockStatus(): Promise<{ info: LockInfo | null; held: boolean } | null> {
    return inspectLock(this.lockPath);
  }

  async forceUnlock(id: string, opts: { force?: boolean } = {}): Promise<void> {
    await forceUnlockFile(this.lockPath, id, opts);
  }

  async close(): Promise<void> {
    await this.unlock();
  }
}
