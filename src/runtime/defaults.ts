import type { BusyMode } from '../session/types.ts';
// Kept apart from server.ts so the CLI can show these defaults without loading fastify.
export const DEFAULT_BODY_LIMIT = 1024 * 1024;
export const DEFAULT_RATE_LIMIT = 600;

/**
 * What one caller may make the runtime hold or do. Every limit has a flag and an environment
 * variable (docs/runtime.md "Limits"); a request over one is refused with a 4xx that names the
 * limit and the field, before anything is stored.
 */
export interface RuntimeLimits {
  /** Keys in a session's metadata. */
  maxMetadataKeys: number;
  /** UTF-8 bytes of a session's metadata, keys and values together. */
  maxMetadataBytes: number;
  /** UTF-8 bytes of one request's `message`. */
  maxMessageBytes: number;
  /** UTF-8 bytes of one prompt variable's value. */
  maxVariableBytes: number;
  /** Messages a session may hold; a turn on a session that reached it is refused. */
  maxMessagesPerSession: number;
  /** Live sessions per agent in the memory store. */
  maxSessionsPerAgent: number;
  /** History page size when the request gives no `limit`. */
  historyDefaultLimit: number;
  /** Largest `limit` a history request may ask for. */
  historyMaxLimit: number;
  /** Time to receive a whole request, headers and body (a slow body is cut after it). */
  requestTimeoutMs: number;
  /** Time to receive the request headers. */
  headersTimeoutMs: number;
  /** How long an idle keep-alive connection stays open. */
  keepAliveTimeoutMs: number;
  /** Open connections at once; more are refused at accept. */
  maxConnections: number;
  /** How often the memory store drops expired sessions. */
  sweepIntervalMs: number;
  /** Agents deep a delegation may go (a delegate delegating again counts one more). */
  maxDelegationDepth: number;
  /** Fallback agents one request may try after the agent asked failed. */
  maxFallbacks: number;
  /** A turn's lease on its session lives this long without renewal (a frozen runtime loses it then). */
  sessionLeaseTtlMs: number;
  /** How long a message waits for its session's running turn under `enqueue` before a 409. */
  sessionBusyWaitMs: number;
}

export const DEFAULT_LIMITS: Readonly<RuntimeLimits> = Object.freeze({
  maxMetadataKeys: 64,
  maxMetadataBytes: 16 * 1024,
  maxMessageBytes: 64 * 1024,
  maxVariableBytes: 4 * 1024,
  maxMessagesPerSession: 10_000,
  maxSessionsPerAgent: 10_000,
  historyDefaultLimit: 100,
  historyMaxLimit: 1000,
  requestTimeoutMs: 30_000,
  headersTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 1024,
  sweepIntervalMs: 60_000,
  maxDelegationDepth: 3,
  maxFallbacks: 3,
  sessionLeaseTtlMs: 30_000,
  sessionBusyWaitMs: 30_000,
});

/** One limit as the CLI offers it: the flag, the environment variable, and its unit. */
export interface LimitOption {
  key: keyof RuntimeLimits;
  flag: string;
  env: string;
  /** `bytes` and `count` are whole numbers; `duration` accepts `30s`, `500ms`, ... */
  unit: 'bytes' | 'count' | 'duration';
  description: string;
}

export const LIMIT_OPTIONS: readonly LimitOption[] = [
  { key: 'maxMetadataKeys', flag: '--max-metadata-keys', env: 'AGENTSPEC_MAX_METADATA_KEYS', unit: 'count', description: 'keys in a session\'s metadata' },
  { key: 'maxMetadataBytes', flag: '--max-metadata-bytes', env: 'AGENTSPEC_MAX_METADATA_BYTES', unit: 'bytes', description: 'bytes of a session\'s metadata (keys and values)' },
  { key: 'maxMessageBytes', flag: '--max-message-bytes', env: 'AGENTSPEC_MAX_MESSAGE_BYTES', unit: 'bytes', description: 'bytes of one request message' },
  { key: 'maxVariableBytes', flag: '--max-variable-bytes', env: 'AGENTSPEC_MAX_VARIABLE_BYTES', unit: 'bytes', description: 'bytes of one prompt variable value' },
  { key: 'maxMessagesPerSession', flag: '--max-session-messages', env: 'AGENTSPEC_MAX_SESSION_MESSAGES', unit: 'count', description: 'messages one session may hold' },
  { key: 'maxSessionsPerAgent', flag: '--max-sessions-per-agent', env: 'AGENTSPEC_MAX_SESSIONS_PER_AGENT', unit: 'count', description: 'live sessions per agent (memory store)' },
  { key: 'historyDefaultLimit', flag: '--history-page', env: 'AGENTSPEC_HISTORY_PAGE', unit: 'count', description: 'history page size without ?limit' },
  { key: 'historyMaxLimit', flag: '--history-max-page', env: 'AGENTSPEC_HISTORY_MAX_PAGE', unit: 'count', description: 'largest ?limit of a history page' },
  { key: 'requestTimeoutMs', flag: '--request-timeout', env: 'AGENTSPEC_REQUEST_TIMEOUT', unit: 'duration', description: 'time to receive a whole request' },
  { key: 'headersTimeoutMs', flag: '--headers-timeout', env: 'AGENTSPEC_HEADERS_TIMEOUT', unit: 'duration', description: 'time to receive request headers' },
  { key: 'keepAliveTimeoutMs', flag: '--keep-alive-timeout', env: 'AGENTSPEC_KEEP_ALIVE_TIMEOUT', unit: 'duration', description: 'idle time of a keep-alive connection' },
  { key: 'maxConnections', flag: '--max-connections', env: 'AGENTSPEC_MAX_CONNECTIONS', unit: 'count', description: 'open connections at once' },
  { key: 'sweepIntervalMs', flag: '--session-sweep-interval', env: 'AGENTSPEC_SESSION_SWEEP_INTERVAL', unit: 'duration', description: 'how often expired sessions are dropped (memory store)' },
  { key: 'maxDelegationDepth', flag: '--max-delegation-depth', env: 'AGENTSPEC_MAX_DELEGATION_DEPTH', unit: 'count', description: 'agents deep a chain of delegations may go' },
  { key: 'maxFallbacks', flag: '--max-fallbacks', env: 'AGENTSPEC_MAX_FALLBACKS', unit: 'count', description: 'fallback agents one request may try' },
  { key: 'sessionLeaseTtlMs', flag: '--session-lease-ttl', env: 'AGENTSPEC_SESSION_LEASE_TTL', unit: 'duration', description: 'lifetime of a turn\'s lease on its session without renewal' },
  { key: 'sessionBusyWaitMs', flag: '--session-busy-wait', env: 'AGENTSPEC_SESSION_BUSY_WAIT', unit: 'duration', description: 'longest wait of a message for its busy session (on_busy enqueue)' },
];

/** The flag that sets a limit, for error messages that tell the caller what to raise. */
export function limitFlag(key: keyof RuntimeLimits): string {
  return LIMIT_OPTIONS.find((o) => o.key === key)?.flag ?? key;
}

/** What a message to a busy session does when neither the request nor the agent says. */
export const DEFAULT_ON_BUSY: BusyMode = 'enqueue';

/** API keys shorter than this are refused at start-up: they can be guessed. */
export const MIN_API_KEY_LENGTH = 16;
