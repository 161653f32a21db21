// Public API of the state module (also the package subpath `@agentspec/cli/state`).
import { UsageError } from '../errors.ts';
import { LocalBackend } from './local-backend.ts';
import { PostgresBackend, isPostgresUrl } from './postgres-backend.ts';
import type { Backend } from './types.ts';

export type { Backend, EntryStatus, LoadOptions, LockInfo, LockOptions, RuntimeInfo, State, StateEntry } from './types.ts';
export { STATE_FORMAT_VERSION } from './types.ts';
export { LocalBackend } from './local-backend.ts';
export { PostgresBackend, StateBackendError, isPostgresUrl, parsePostgresLocation } from './postgres-backend.ts';
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
  StatePathError,
  StateReadError,
  StateSchemaError,
  StateSerialMismatchError,
  StateUnlockError,
  StateVersionError,
  StateWriteError,
} from './errors.ts';

export const DEFAULT_STATE_FILE = '.agentspec.state.json';

/**
 * The backend for a state location: PostgreSQL when `backend` (the `--state-backend` flag) or the
 * AGENTSPEC_STATE_BACKEND environment variable is a `postgres://…[?workspace=NAME]` URL, else the local
 * file `stateFile`. Callers go through this factory so the choice never reaches them.
 */
export function openBackend(opts: { stateFile: string; backend?: string }): Backend {
  const chosen = opts.backend ?? process.env.AGENTSPEC_STATE_BACKEND;
  if (chosen === undefined || chosen === '' || chosen === 'local') return new LocalBackend({ path: opts.stateFile });
  if (isPostgresUrl(chosen)) return new PostgresBackend({ url: chosen });
  throw new UsageError(`Unknown state backend "${chosen}": use "local" or a postgres:// URL (e.g. postgres://user@host:5432/db?workspace=prod).`);
}
