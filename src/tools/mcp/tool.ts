/** One MCP tool as a `Tool`: arguments checked, the call made through the server's connection, one log line. */
import { performance } from 'node:perf_hooks';
import type { Tool, ToolCallContext, ToolOutcome, ToolSpec } from '../types.ts';
import { compileArgumentCheck, type ArgumentCheck } from './arguments.ts';
import type { ServerConnection } from './connection.ts';
import { toOutcome } from './result.ts';

export type CallOutcomeKind = 'ok' | 'tool_error' | 'invalid_arguments' | 'timeout' | 'unavailable' | 'protocol_error' | 'aborted';

const failure = (content: string): ToolOutcome => ({ content, is_error: true, truncated: false, bytes: Buffer.byteLength(content) });

export class McpTool implements Tool {
  readonly kind = 'mcp' as const;
  private readonly skillCheck: ArgumentCheck | undefined;

  /**
   * @param name what the model calls (the skill name, or the server's tool name for client tools)
   * @param skillSpec the skill's own spec, when the tool comes from a `tool mcp` skill
   */
  constructor(
    readonly name: string,
    private readonly conn: ServerConnection,
    private readonly toolName: string,
    private readonly skillSpec: ToolSpec | undefined,
    private readonly maxOutputBytes: number,
  ) {
    this.skillCheck = skillSpec === undefined ? undefined : compileArgumentCheck(skillSpec.input_schema, { tool: name });
  }

  /** The skill's spec, else the server's current description and schema of the tool. */
  get spec(): ToolSpec {
    if (this.skillSpec !== undefined) return this.skillSpec;
    const info = this.conn.tool(this.toolName);
    return {
      name: this.name,
      description: info?.description ?? `MCP tool "${this.toolName}" of server "${this.conn.name}" (server not connected)`,
      input_schema: info?.inputSchema ?? { type: 'object' },
    };
  }

  async call(input: unknown, ctx: ToolCallContext): Promise<ToolOutcome> {
    const started = performance.now();
    const log = (outcome: CallOutcomeKind, result?: ToolOutcome): void => {
      // Debug: the agent loop writes the one INFO line per tool execution; this one adds the
      // server, the tool and why a call failed.
      this.conn.log().debug(
        {
          agent: ctx.agent,
          session: ctx.session,
          skill: this.name,
          kind: 'mcp',
          server: this.conn.name,
          tool: this.toolName,
          duration_ms: Math.round((performance.now() - started) * 10) / 10,
          outcome,
          bytes: result?.bytes ?? 0,
          truncated: result?.truncated ?? false,
        },
        'MCP tool call',
      );
    };
    ctx.signal.throwIfAborted();
    if (this.conn.isReady && this.conn.tool(this.toolName) === undefined) {
      const out = failure(`MCP server "${this.conn.name}" has no tool "${this.toolName}" (any more)`);
      log('unavailable', out);
      return out;
    }
    const invalid = this.checkArguments(input);
    if (invalid !== undefined) {
      const out = failure(`invalid arguments for tool "${this.name}": ${invalid}`);
      log('invalid_arguments', out);
      return out;
    }
    let res;
    try {
      res = await this.conn.call(this.toolName, input as Record<string, unknown>, ctx.signal, this.conn.callTimeoutMs);
    } catch (err) {
      log('aborted');
      throw err;
    }
    if (!res.ok) {
      const out = failure(res.message);
      log(res.kind, out);
      return out;
    }
    const out = toOutcome(res.result, this.maxOutputBytes);
    log(out.is_error ? 'tool_error' : 'ok', out);
    return out;
  }

  private checkArguments(input: unknown): string | undefined {
    if (input === null || typeof input !== 'object' || Array.isArray(input)) return 'arguments must be a JSON object';
    const bySkill = this.skillCheck?.(input);
    if (bySkill !== undefined) return bySkill;
    // Unknown while the server is down: the call then reports the server as unavailable.
    return this.conn.tool(this.toolName)?.check?.(input);
  }
}

/**
 * A `tool mcp` skill whose server is declared but not started because no served agent uses it:
 * it can be built like every skill, and says why if it is ever called.
 */
export class UnstartedMcpTool implements Tool {
  readonly kind = 'mcp' as const;
  readonly spec: ToolSpec;

  constructor(
    readonly name: string,
    private readonly server: string,
    spec: ToolSpec | undefined,
  ) {
    this.spec = spec ?? { name, description: `MCP tool of server "${server}" (not started)`, input_schema: { type: 'object' } };
  }

  async call(_input: unknown, ctx: ToolCallContext): Promise<ToolOutcome> {
    ctx.signal.throwIfAborted();
    return failure(`MCP server "${this.server}" is not started: no served agent uses a skill or client that needs it`);
  }
}
