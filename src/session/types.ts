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
  /**
   * Only the last `tail` messages (not with offset/limit). The store reads just those (Redis:
   * `LRANGE key -N -1`, with the total from LLEN in the same transaction), and the page carries
   * the session's summary.
   */
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
export interface AppendOptions {
  /** Replaces the session's summary. */
  summary?: SessionSummary;
}

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
  /** Atomic: all of `messages` are stored, in order, or none are. Returns the new history length. */
  appendMessages(id: string, messages: Message[], options?: AppendOptions): Promise<number>;
  loadMessages(id: string, range?: MessageRange): Promise<MessagePage>;
  close(): Promise<void>;
}
