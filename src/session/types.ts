/** The session contract (DESIGN.md "Sessions"). Every failure reaches the caller. */

export interface ToolCall {
  id: string;
  name: string;
  input: unknown;
}

export interface ToolResult {
  tool_call_id: string;
  content: string;
  is_error?: boolean;
}

export interface Message {
  role: 'user' | 'assistant' | 'system' | 'tool';
  content?: string;
  tool_calls?: ToolCall[];
  tool_result?: ToolResult;
  /**
   * Per-session sequence number (1-based, strictly increasing), assigned by the store at append;
   * set on every message loadMessages returns, ignored on the messages handed to appendMessages.
   */
  seq?: number;
}

export interface SessionInfo {
  id: string;
  agent: string;
  /** ISO-8601 */
  created_at: string;
  /** ISO-8601 */
  last_active: string;
  metadata: Record<string, string>;
  /** Non-secret id of the API key that created the session, when sessions are bound to keys. */
  owner?: string;
}

export interface CreateOptions {
  /** Stored with the session (see SessionInfo.owner). */
  owner?: string;
}

export interface MessageRange {
  offset?: number;
  /** Omitted: to the end. */
  limit?: number;
  /** Only messages whose seq is greater than this (instead of `offset`). */
  afterSeq?: number;
  /** Only the last N messages (instead of `offset`/`afterSeq`; `limit` does not apply). */
  tail?: number;
}

/** A running summary of the oldest part of a history (memory strategy `summary`). */
export interface SessionSummary {
  text: string;
  /** How many messages, from the start of the history, the summary stands for. */
  covers: number;
}

export interface MessagePage {
  messages: Message[];
  /** Messages in the whole history (not only this page). */
  total: number;
  /** With `tail`: the summary stored with the session, when there is one. */
  summary?: SessionSummary;
}

/** What else an append stores, in the same atomic step as its messages. */
/** What an append carries besides its messages (DESIGN.md "Sessions": one writer per session). */
export interface AppendOptions {
  /**
   * The fencing token of the turn that makes this append: it is stored only while the session's
   * fence is still this one, so a turn whose lease was lost never writes after the next turn.
   */
  fence?: number;
  /** The turn's lease token: released in the same atomic step as the append. */
  leaseToken?: string;
  /** Stored with the messages in the same atomic step: a retry with this key gets `response`. */
  idempotency?: IdempotencyRecord;
  /** Replaces the session's summary, in the same atomic step (memory strategy `summary`). */
  summary?: SessionSummary;
}

export interface IdempotencyRecord {
  key: string;
  /** Digest of the request that produced the response; the same key with another hash is a conflict. */
  requestHash: string;
  /** The response body, as the first request was answered. */
  response: string;
}

/** How a turn that finds its session busy behaves. */
export type BusyMode = 'enqueue' | 'reject' | 'interrupt';
export const BUSY_MODES: readonly BusyMode[] = ['enqueue', 'reject', 'interrupt'];

export interface BeginTurnRequest {
  /** Random id of this turn: its lease token and its place in the session's queue. */
  token: string;
  /** The lease lives this long unless renewed. */
  leaseTtlMs: number;
  mode: BusyMode;
  /** enqueue: a place in the queue is kept this long after the waiter last asked. */
  waiterTtlMs: number;
  /** Looked up first: a stored response (replay) or another body under this key (conflict). */
  idempotency?: { key: string; requestHash: string };
  /** The history page that comes with the lease. Default: all of it. */
  range?: MessageRange;
}

/** Every answer carries the session's info, so the caller can check whose it is before using any of it. */
export type BeginTurnResult = { info: SessionInfo } & (
  | {
      status: 'acquired';
      /** Grows by one per turn; the append must carry it (AppendOptions.fence). */
      fence: number;
      page: MessagePage;
      /** interrupt: the token of the turn this one took the lease from. */
      interrupted?: string;
    }
  /** Someone else holds the session; retry in about `retryAfterMs` (enqueue: the place is kept). */
  | { status: 'busy'; retryAfterMs: number }
  | { status: 'replay'; response: string }
  | { status: 'conflict' }
);

/** A request without a session (stateless invoke) asking to run under an idempotency key. */
export interface RequestClaim {
  key: string;
  requestHash: string;
  /** Random id of this attempt: only it may complete or release the claim. */
  token: string;
  /** The claim lives this long unless renewed (a crashed runtime's claim frees itself). */
  ttlMs: number;
}

export type RequestClaimResult =
  | { status: 'claimed' }
  /** Another attempt with this key is running; ask again in a moment. */
  | { status: 'running'; retryAfterMs: number }
  | { status: 'replay'; response: string }
  | { status: 'conflict' };

export interface SessionStore {
  create(agent: string, metadata?: Record<string, string>, options?: CreateOptions): Promise<SessionInfo>;
  /** null when the session does not exist (or expired). */
  get(id: string): Promise<SessionInfo | null>;
  touch(id: string): Promise<void>;
  /** false when there was nothing to delete. */
  delete(id: string): Promise<boolean>;
  list(agent: string): Promise<SessionInfo[]>;
  /** Live sessions of `agent`, without reading them (stores that cannot count leave it out). */
  count?(agent: string): Promise<number>;
  /**
   * Atomic: all of `messages` are stored, in order, each with the next seq, or none are. Returns
   * the seq of the last stored message, which is also the history length (nothing is ever
   * removed from a history). With `fence`, FencedAppendError when another turn started since.
   */
  appendMessages(id: string, messages: Message[], options?: AppendOptions): Promise<number>;
  loadMessages(id: string, range?: MessageRange): Promise<MessagePage>;
  /**
   * One step: the session's info, its idempotency record for the key, the lease (or a place in
   * the queue), and the history page. SessionNotFoundError when the session does not exist.
   */
  beginTurn(id: string, request: BeginTurnRequest): Promise<BeginTurnResult>;
  /** Extends the lease; false when it is no longer this token's (expired and taken, or interrupted). */
  renewLease(id: string, token: string, ttlMs: number): Promise<boolean>;
  /** Gives the lease up (when still this token's) and the token's place in the queue. */
  releaseLease(id: string, token: string): Promise<void>;
  /** Claims `claim.key` within `scope` (an agent) for a request without a session, or reports who has it. */
  claimRequest(scope: string, claim: RequestClaim): Promise<RequestClaimResult>;
  /** Extends a claim; false when it is no longer this token's. */
  renewRequest(scope: string, key: string, token: string, ttlMs: number): Promise<boolean>;
  /** Stores the response of a claimed request, kept `ttlSeconds`; a claim no longer this token's stores nothing. */
  completeRequest(scope: string, key: string, token: string, response: string, ttlSeconds: number): Promise<void>;
  /** Drops a claim that produced nothing (the request failed), so a retry runs it. */
  releaseRequest(scope: string, key: string, token: string): Promise<void>;
  close(): Promise<void>;
}
