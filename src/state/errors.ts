import { AgentspecError, ExitCode, errorMessage } from '../errors.ts';
import type { LockInfo } from './types.ts';

/** The state file and its backup are both unusable; automatic recovery is impossible (exit 4). */
export class StateCorruptedError extends AgentspecError {
  readonly path: string;
  readonly backupPath: string;
  /** True when a backup existed and was tried (it was corrupt too); false when there was none. */
  readonly backupUsed: boolean;

  constructor(opts: { path: string; backupPath: string; backupUsed: boolean; cause: unknown; backupCause?: unknown; message?: string }) {
    const backupText = opts.backupUsed
      ? `its backup ${opts.backupPath} is corrupted too (${errorMessage(opts.backupCause)})`
      : `there is no backup at ${opts.backupPath}`;
    super(
      'E_STATE_CORRUPTED',
      opts.message ??
        `State file ${opts.path} is corrupted (${errorMessage(opts.cause)}) and ${backupText}. ` +
          'agentspec will not guess what is deployed. Recover by hand: inspect both files and fix the JSON, ' +
          `or replace ${opts.path} with a known-good copy (for example \`agentspec state pull\` output saved earlier); ` +
          'deleting both files starts from an empty state, which forgets everything that is deployed.',
      { cause: opts.cause, exitCode: ExitCode.stateCorrupted },
    );
    this.path = opts.path;
    this.backupPath = opts.backupPath;
    this.backupUsed = opts.backupUsed;
  }
}

/** Reading or writing a state-related file failed at the OS level (disk full, read-only, permission denied). */
export class StateWriteError extends AgentspecError {
  readonly path: string;
  /** The errno code of the cause (ENOSPC, EROFS, EACCES, EPERM, ...) when there is one. */
  readonly errno: string | undefined;

  constructor(path: string, cause: unknown, what = 'write state file') {
    const errno = (cause as NodeJS.ErrnoException | undefined)?.code;
    super(
      'E_STATE_WRITE',
      `Could not ${what} ${path}: ${errorMessage(cause)}. The previous state and its backup were left as they were; ` +
        'fix the cause (free disk space, write permission, read-only mount) and run the command again.',
      { cause },
    );
    this.path = path;
    this.errno = errno;
  }
}

/** Reading the state file failed for a reason that is not corruption (e.g. permission denied). */
export class StateReadError extends AgentspecError {
  readonly path: string;

  constructor(path: string, cause: unknown) {
    super('E_STATE_READ', `Could not read state file ${path}: ${errorMessage(cause)}`, { cause });
    this.path = path;
  }
}

/** The stored serial is not the caller's base serial: someone saved in between (a lost update caught). */
export class StateSerialMismatchError extends AgentspecError {
  readonly path: string;
  readonly expected: number;
  readonly actual: number;

  constructor(path: string, expected: number, actual: number) {
    super(
      'E_STATE_SERIAL_MISMATCH',
      `Refusing to save ${path}: it is at serial ${actual}, but this change was based on serial ${expected}. ` +
        'Another writer saved in between; run the command again so it starts from the current state.',
    );
    this.path = path;
    this.expected = expected;
    this.actual = actual;
  }
}

/** The state on disk belongs to another lineage (a different state was put in its place). */
export class StateLineageMismatchError extends AgentspecError {
  readonly path: string;
  readonly expected: string;
  readonly actual: string;

  constructor(path: string, expected: string, actual: string) {
    super(
      'E_STATE_LINEAGE_MISMATCH',
      `Refusing to save ${path}: it has lineage ${actual}, but this change belongs to lineage ${expected}. ` +
        'The file was replaced by a different state; check which one is right before running again.',
    );
    this.path = path;
    this.expected = expected;
    this.actual = actual;
  }
}

/** The state was written by a newer agentspec with a format this one does not understand. */
export class StateVersionError extends AgentspecError {
  readonly path: string;
  readonly version: string;

  constructor(path: string, version: string) {
    super(
      'E_STATE_VERSION',
      `State file ${path} has format version ${version}, which this agentspec does not support; upgrade agentspec.`,
    );
    this.path = path;
    this.version = version;
  }
}

/** Someone else holds the lock and did not release it before the deadline (exit 3). */
export class StateLockedError extends AgentspecError {
  readonly path: string;
  readonly holder: LockInfo | null;
  readonly holderPid: number | undefined;
  readonly hostname: string | undefined;
  readonly since: string | undefined;
  readonly operation: string | undefined;
  readonly lockId: string | undefined;
  readonly waitedMs: number;

  constructor(path: string, holder: LockInfo | null, waitedMs: number) {
    const who =
      holder === null
        ? 'another process (its lock information could not be read)'
        : holder.original === true
          ? `pid ${holder.pid} on ${holder.hostname} (the original agentspec, since ${holder.created}, lock id ${holder.id})`
          : `pid ${holder.pid} on ${holder.hostname} (operation "${holder.operation}", by ${holder.who}, since ${holder.created}, lock id ${holder.id})`;
    const unlock = holder === null ? '`agentspec state lock-info` then `agentspec state unlock LOCK_ID`' : `\`agentspec state unlock ${holder.id}\``;
    super(
      'E_STATE_LOCKED',
      `State is locked: ${path} is held by ${who}; gave up after ${waitedMs} ms. ` +
        `Wait longer with --lock-timeout (e.g. --lock-timeout 5m), or, if you are sure that holder is gone, remove the lock with ${unlock}.`,
      { exitCode: ExitCode.lockTimeout },
    );
    this.path = path;
    this.holder = holder;
    this.holderPid = holder?.pid;
    this.hostname = holder?.hostname;
    this.since = holder?.created;
    this.operation = holder?.operation;
    this.lockId = holder?.id;
    this.waitedMs = waitedMs;
  }
}

/** This process's lock was broken (stale or force-unlocked); it must not write. */
export class StateLockLostError extends AgentspecError {
  readonly path: string;
  readonly lockId: string;

  constructor(path: string, lockId: string, detail: string) {
    super(
      'E_STATE_LOCK_LOST',
      `Lost the state lock ${path} (lock id ${lockId}): ${detail}. Nothing was written; ` +
        'another process may be changing the state now. Run the command again.',
    );
    this.path = path;
    this.lockId = lockId;
  }
}

/** The lock path is a symlink or not a regular file; following it could lock or clobber another file. */
export class StateLockPathError extends AgentspecError {
  readonly path: string;

  constructor(path: string, detail: string) {
    super(
      'E_STATE_LOCK_PATH',
      `Refusing to use lock file ${path}: ${detail}. Remove it (it must be a regular file that agentspec creates) and run again.`,
    );
    this.path = path;
  }
}

/** An operation that needs the lock was called without holding it (a programming error in the caller). */
export class StateNotLockedError extends AgentspecError {
  constructor(path: string, what: string) {
    super('E_STATE_NOT_LOCKED', `${what} requires holding the state lock ${path}; call lock() first.`);
  }
}

/** `state unlock ID` named a lock that is not the current one, or the holder is alive. */
export class StateUnlockError extends AgentspecError {
  readonly path: string;

  constructor(path: string, message: string, exitCode: ExitCode = ExitCode.failure) {
    super('E_STATE_UNLOCK', message, { exitCode });
    this.path = path;
  }
}

/** Entries handed to save() that would produce a state load() rejects. */
export class StateInvalidEntriesError extends AgentspecError {
  constructor(path: string, detail: string) {
    super('E_STATE_INVALID_ENTRIES', `Refusing to save ${path}: ${detail}`);
  }
}

/**
 * The state file is valid JSON but not a state this version accepts (a hand edit, another tool's
 * write). Never replaced by the older backup automatically: that would silently lose its newer
 * entries (exit 4).
 */
export class StateSchemaError extends AgentspecError {
  readonly path: string;
  readonly field: string | undefined;

  constructor(opts: { path: string; backupPath?: string; field: string | undefined; detail: string }) {
    const backup = opts.backupPath === undefined ? 'its backup' : `its backup ${opts.backupPath}`;
    super(
      'E_STATE_SCHEMA',
      `State file ${opts.path} is valid JSON but does not match the state format` +
        `${opts.field === undefined ? '' : ` at field ${opts.field}`} (${opts.detail}). ` +
        `agentspec will not replace it with ${backup} on its own: the file may hold newer entries than the backup. ` +
        `Fix that field by hand, or run \`agentspec state recover\` to replace the file with ${backup} (what changed since that backup is forgotten).`,
      { exitCode: ExitCode.stateCorrupted },
    );
    this.path = opts.path;
    this.field = opts.field;
  }
}

/** A state-related path is a directory, FIFO, device or socket: refused at once instead of hanging on it. */
export class StatePathError extends AgentspecError {
  readonly path: string;

  constructor(path: string, detail: string) {
    super('E_STATE_PATH', `Refusing to use ${path}: ${detail}. It must be a regular file (or absent); move it away and run again.`);
    this.path = path;
  }
}

/** The state file changed on disk during a save (a writer that bypassed the lock): it was not overwritten. */
export class StateChangedError extends AgentspecError {
  readonly path: string;

  constructor(path: string, detail: string) {
    super(
      'E_STATE_CHANGED',
      `Refusing to save ${path}: the file changed on disk while this save was in flight (${detail}); ` +
        'some program wrote it without holding the state lock. It was left as that writer left it; check it, then run the command again.',
    );
    this.path = path;
  }
}
