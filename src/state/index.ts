// Public API of the state module (also the package subpath `agentspec/state`).
import { LocalBackend } from './local-backend.ts';
import type { Backend } from './types.ts';

export type { Backend, EntryStatus, LoadOptions, LockInfo, LockOptions, RuntimeInfo, State, StateEntry } from './types.ts';
export { STATE_FORMAT_VERSION } from './types.ts';
export { LocalBackend } from './local-backend.ts';
export { FileLock, inspectLock, forceUnlockFile, lockHostname, DEFAULT_LOCK_TIMEOUT_MS, DEFAULT_STALE_AFTER_MS } from './file-lock.ts';
export { durableWrite, removeLeftoverTemps, tempFilePattern } from './durable-write.ts';
export { parseState, serializeState, emptyState, StateFormatError } from './format.ts';
export {
  StateCorruptedError,
  StateInvalidEntriesError,
  StateLineageMismatchError,
  StateLockedError,
  StateLockLostError,
  StateLockPathError,
  StateNotLockedError,
  StateReadError,
  StateSerialMismatchError,
  StateUnlockError,
  StateVersionError,
  StateWriteError,
} from './errors.ts';

export const DEFAULT_STATE_FILE = '.agentspec.state.json';

/**
 * The backend for a state location. Today only the local file backend exists; callers go through
 * this factory so another backend (e.g. PostgreSQL by URL) can be chosen without changing them.
 */
export function openBackend(opts: { stateFile: string }): Backend {
  return new LocalBackend({ path: opts.stateFile });
}
