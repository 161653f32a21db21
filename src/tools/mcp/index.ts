/**
 * The MCP connection pool: every server a served agent can reach is started (or connected to)
 * once, at runtime start-up, with the official SDK client; its tools are offered as `Tool`s.
 */
import type { IRDocument } from '../../ir/types.ts';
import { errorMessage } from '../../errors.ts';
import { logger, type Logger } from '../../log.ts';
import type { McpConnector, Tool, ToolSpec } from '../types.ts';
import { planMcp, type McpPlan } from './config.ts';
import { ServerConnection, type ConnectionOptions, type ServerProcess } from './connection.ts';
import { McpConfigError, McpStartError, McpToolNotFoundError } from './errors.ts';
import { DEFAULT_MAX_OUTPUT_BYTES } from './result.ts';
import { McpTool, UnstartedMcpTool } from './tool.ts';

export { McpConfigError, McpStartError, McpToolNotFoundError } from './errors.ts';
export { planMcp, splitServerTool } from './config.ts';
export type { ServerProcess } from './connection.ts';

export interface McpOptions {
  /** Resolved secret values by secret name (a server's `auth` names one). */
  secrets: ReadonlyMap<string, string>;
  /** Per-call timeout unless the server's `metadata { timeout "..." }` says otherwise. Default 60s. */
  callTimeoutMs?: number;
  /** How long a server gets to answer `initialize`. Default 30s. */
  startTimeoutMs?: number;
  /** SIGTERM to SIGKILL on stop. Default 2s. */
  stopGraceMs?: number;
  /** Restart back-off: first delay, doubled up to the maximum. Defaults 250ms and 30s. */
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  /** Output cap per call, in bytes. Default 100 000. */
  maxOutputBytes?: number;
  /** Where stdio servers take PATH, HOME and the locale from. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Logger for this layer; default the `tools.mcp` component of the root logger. */
  logger?: Logger;
}

export class McpPool implements McpConnector {
  private readonly warnedDuplicates = new Set<string>();
  // The same listed tool gives the same Tool object, so a caller can tell when a list changed.
  private readonly clientToolObjects = new WeakMap<object, McpTool>();

  constructor(
    private readonly plan: McpPlan,
    private readonly connections: Map<string, ServerConnection>,
    private readonly maxOutputBytes: number,
    private readonly log: () => Logger,
  ) {}

  private connection(server: string): ServerConnection {
    const conn = this.connections.get(server);
    if (conn === undefined) throw new McpConfigError(`MCP server "${server}" is not used by any served agent or is not declared`, server);
    return conn;
  }

  toolFor(skillName: string, server: string, tool: string, spec?: ToolSpec): Tool {
    if (!this.connections.has(server) && this.plan.declared.has(server)) return new UnstartedMcpTool(skillName, server, spec);
    return new McpTool(skillName, this.connection(server), tool, spec, this.maxOutputBytes);
  }

  clientTools(client: string): Tool[] {
    const servers = this.plan.clients.get(client);
    if (servers === undefined) throw new McpConfigError(`MCP client "${client}" is not connected to by any served agent or is not declared`);
    const out: Tool[] = [];
    const taken = new Map<string, string>();
    for (const server of servers) {
      const conn = this.connection(server);
      for (const t of conn.tools()) {
        const first = taken.get(t.name);
        if (first !== undefined) {
          const key = `${client}\0${t.name}`;
          if (!this.warnedDuplicates.has(key)) {
            this.warnedDuplicates.add(key);
            this.log().warn({ client, tool: t.name, offered_from: first, ignored_from: server }, 'two servers of one client offer a tool of the same name: the first is offered');
          }
          continue;
        }
        taken.set(t.name, server);
        let tool = this.clientToolObjects.get(t);
        if (tool === undefined) {
          tool = new McpTool(t.name, conn, t.name, undefined, this.maxOutputBytes);
          this.clientToolObjects.set(t, tool);
        }
        out.push(tool);
      }
    }
    return out;
  }

  /** The local server processes now running (for operators and tests). */
  processes(): ServerProcess[] {
    return [...this.connections.values()].flatMap((c) => c.process() ?? []);
  }

  /** The connection of `server`, to inspect its state and restarts. */
  server(name: string): ServerConnection | undefined {
    return this.connections.get(name);
  }

  async close(): Promise<void> {
    const results = await Promise.allSettled([...this.connections.values()].map((c) => c.close()));
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    for (const f of failed) this.log().error({ err: errorMessage(f.reason) }, 'stopping an MCP server failed');
    if (failed.length > 0) throw new AggregateError(failed.map((f) => f.reason as unknown), 'stopping MCP servers failed');
  }
}

/**
 * Start every MCP server the served agents need and check their tools. A required server that
 * does not start, or a skill naming a tool its server lacks, is a start-up error (everything
 * already started is stopped first); optional ones are logged WARN and retried in the background.
 */
export async function startMcp(docs: IRDocument[], opts: McpOptions): Promise<McpPool> {
  const plan = planMcp(docs);
  const logFn = (): Logger => opts.logger ?? logger('tools.mcp');
  const log = logFn();
  const copts: ConnectionOptions = {
    secrets: opts.secrets,
    callTimeoutMs: opts.callTimeoutMs ?? 60_000,
    startTimeoutMs: opts.startTimeoutMs ?? 30_000,
    stopGraceMs: opts.stopGraceMs ?? 2_000,
    backoffInitialMs: opts.backoffInitialMs ?? 250,
    backoffMaxMs: opts.backoffMaxMs ?? 30_000,
    env: opts.env ?? process.env,
    log: logFn,
  };
  const connections = new Map<string, ServerConnection>();
  for (const cfg of plan.servers.values()) connections.set(cfg.name, new ServerConnection(cfg, copts));
  const pool = new McpPool(plan, connections, opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES, logFn);

  const started = await Promise.allSettled(
    [...connections.values()].map(async (conn) => {
      const t0 = Date.now();
      await conn.start();
      log.info({ server: conn.name, transport: conn.config.transport, tools: conn.tools().length, duration_ms: Date.now() - t0 }, 'MCP server started');
    }),
  );
  const fatal: unknown[] = [];
  [...connections.values()].forEach((conn, i) => {
    const r = started[i];
    if (r === undefined || r.status === 'fulfilled') return;
    const err: unknown = r.reason;
    if (conn.config.required || !(err instanceof McpStartError)) {
      fatal.push(err);
      return;
    }
    log.warn({ server: conn.name, used_by: conn.config.usedBy, err: err.message }, 'optional MCP server did not start: its tools answer with an error until it does; retrying');
    conn.retryLater();
  });

  if (fatal.length === 0) {
    for (const use of plan.skills) {
      const conn = connections.get(use.server);
      if (conn === undefined || !conn.isReady || conn.tool(use.tool) !== undefined) continue;
      const err = new McpToolNotFoundError(use.skill, use.server, use.tool, conn.tools().map((t) => t.name).sort());
      if (use.optional) log.warn({ skill: use.skill, server: use.server, tool: use.tool }, `${err.message}; the skill is optional and answers with an error`);
      else fatal.push(err);
    }
  }
  if (fatal.length > 0) {
    await pool.close().catch((err: unknown) => log.error({ err: errorMessage(err) }, 'stopping MCP servers after a failed start-up failed'));
    throw fatal[0];
  }
  return pool;
}
