/**
 * The tool contract (DESIGN.md "Tools (skills)"). One executor per tool kind sits behind `Tool`;
 * the runtime only ever sees this interface. This module must not import from `runtime/`
 * (runtime -> tools, never the other way).
 */

/** `delegate`: another agent offered as a tool (runtime/delegation.ts; the runtime implements it). */
export type ToolKind = 'command' | 'http' | 'inline' | 'mcp' | 'delegate';

/** What the model is offered: same shape as the runtime's provider ToolDefinition. */
export interface ToolSpec {
  name: string;
  description: string;
  /** JSON Schema (type: object) built from the skill's `input` fields, or the MCP tool's own schema. */
  input_schema: Record<string, unknown>;
}

export interface ToolCallContext {
  agent: string;
  /** The session the turn belongs to, when there is one (for logs only). */
  session?: string;
  /** Aborted when the turn's deadline passes or the client leaves: the executor stops at once. */
  signal: AbortSignal;
}

/** The result the model gets back. Tool failures are outcomes, not exceptions. */
export interface ToolOutcome {
  content: string;
  is_error: boolean;
  /** The output was cut at the tool's output cap (the content says so too). */
  truncated: boolean;
  /** Bytes the tool returned before any truncation. */
  bytes: number;
}

export interface Tool {
  /** The skill name (what the model calls). */
  readonly name: string;
  readonly kind: ToolKind;
  readonly spec: ToolSpec;
  /**
   * Validate `input` against the spec's schema, run, return the outcome. Never throws for a
   * failure of the tool itself (bad arguments, non-zero exit, HTTP error, timeout): those are
   * `is_error` outcomes the model can react to. Rejects only when `ctx.signal` is aborted.
   */
  call(input: unknown, ctx: ToolCallContext): Promise<ToolOutcome>;
}

/**
 * The MCP side of the tool layer: one connection per declared `server`, started with the runtime.
 * Implemented in `tools/mcp/`.
 */
export interface McpConnector {
  /** `tool mcp "server/tool"` as a Tool named after the skill (`spec` from the skill when given). */
  toolFor(skillName: string, server: string, tool: string, spec?: ToolSpec): Tool;
  /** Every tool of every server the `client` block connects to, named as the server names them. */
  clientTools(client: string): Tool[];
  /** Stop every server child and close every connection. Never leaves a child behind. */
  close(): Promise<void>;
}
