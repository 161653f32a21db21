export type {
  AppendOptions,
  BeginTurnRequest,
  BeginTurnResult,
  BusyMode,
  CreateOptions,
  IdempotencyRecord,
  Message,
  MessagePage,
  MessageRange,
  SessionInfo,
  SessionStore,
  SessionSummary,
  ToolCall,
  ToolResult,
} from './types.ts';
export { BUSY_MODES } from './types.ts';
export { beginTurn, claimRequest, ClaimedRequest, supersededBy, TurnLease, type RequestStart, type TurnRequest, type TurnStart } from './lease.ts';
export {
  FencedAppendError,
  IdempotencyConflictError,
  IdempotencyKeyUsedError,
  InvalidMessageError,
  InvalidMessageRangeError,
  SessionBusyError,
  TurnSupersededError,
  SessionCorruptError,
  SessionNotFoundError,
  SessionStoreError,
  SessionStoreUnavailableError,
} from './errors.ts';
export { isSessionId, newSessionId } from './ids.ts';
export { isMessage } from './validate.ts';
export { DEFAULT_SESSION_TTL_SECONDS, MemorySessionStore, SessionLimitError, type MemorySessionStoreOptions } from './memory-store.ts';
export { RedisSessionStore, type RedisSessionStoreOptions } from './redis-store.ts';
export { createSessionStore, type CreateSessionStoreOptions } from './create.ts';
export { countSessions } from './count.ts';
export { SESSION_DURABILITY_MODES, SessionDurabilityUnsupportedError, SessionNotDurableError, type SessionDurability } from './durability.ts';
export { OriginalLayout, SessionMigrationError, type MigrationOutcome } from './original-layout.ts';
