/**
 * One connection to one MCP server for the life of the runtime: started once, its tool list kept
 * current (`notifications/tools/list_changed`), re-established with back-off when the server dies
 * or stops answering, closed for good on shutdown.
 */
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SseError, SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, McpError, ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { errorMessage } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import { VERSION } from '../../version.ts';
import { compileArgumentCheck, type ArgumentCheck } from './arguments.ts';
import type { ServerConfig } from './config.ts';
import { McpStartError } from './errors.ts';
import { GuardedStdioTransport } from './stdio-transport.ts';

export interface McpToolInfo {
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
  check: ArgumentCheck | undefined;
}

export interface ConnectionOptions {
  secrets: ReadonlyMap<string, string>;
  startTimeoutMs: number;
  callTimeoutMs: number;
  stopGraceMs: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
  /** Environment the stdio servers' PATH/HOME/locale come from. */
  env: NodeJS.ProcessEnv;
  /** Where this layer logs (called at each log site, so a reconfigured root logger applies). */
  log: () => Logger;
}

/** What a call came to, when it did not produce a result. */
export type CallFailure =
  | { kind: 'timeout'; message: string }
  | { kind: 'unavailable'; message: string }
  | { kind: 'protocol_error'; message: string };

export type CallResult = { ok: true; result: Record<string, unknown> } | ({ ok: false } & CallFailure);

export interface ServerProcess {
  server: string;
  /** The guard: leader of the server's process group. */
  pid: number;
  /** The server process itself (the guard's child). */
  serverPid: number | undefined;
}

/** Only what a server needs to run; the runtime's own environment (keys, tokens) stays out. */
const PASSED_ENV = ['PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'TERM', 'LANG', 'LC_ALL', 'LC_CTYPE', 'TZ', 'TMPDIR'];
// Connections that stayed up this long earn a fresh back-off.
const STABLE_MS = 10_000;

function resolveCommand(command: string, pathVar: string | undefined): string | undefined {
  const runnable = (p: string): boolean => {
    try {
      accessSync(p, constants.X_OK);
      return statSync(p).isFile();
    } catch {
      // Missing or not executable: the next PATH entry may have it.
      return false;
    }
  };
  if (command.includes('/')) return runnable(command) ? command : undefined;
  for (const dir of (pathVar ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, command);
    if (runnable(candidate)) return candidate;
  }
  return undefined;
}

/** The message plus the system error code found down the cause chain (fetch hides ECONNREFUSED there). */
function describeError(err: unknown): string {
  if ((err instanceof StreamableHTTPError || err instanceof SseError) && err.code !== undefined) {
    return `${errorMessage(err)} (HTTP ${err.code}${err.code === 401 || err.code === 403 ? ': check the server\'s auth secret' : ''})`;
  }
  let cause: unknown = err;
  for (let depth = 0; depth < 5 && cause !== null && typeof cause === 'object'; depth++) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return `${errorMessage(err)} (${code})`;
    cause = (cause as { cause?: unknown }).cause;
  }
  const first = (err as { cause?: unknown }).cause;
  return first instanceof Error && first.message !== errorMessage(err) ? `${errorMessage(err)} (${first.message})` : errorMessage(err);
}

export class ServerConnection {
  readonly name: string;
  private state: 'new' | 'connecting' | 'ready' | 'down' | 'closed' = 'new';
  private client: Client | undefined;
  private transport: Transport | undefined;
  private toolMap = new Map<string, McpToolInfo>();
  private readyWaiters = new Set<() => void>();
  private backoffMs: number;
  private restartTimer: NodeJS.Timeout | undefined;
  private connectedAt = 0;
  private lastError = '';
  /** How many times the connection was re-established after a loss. */
  restarts = 0;

  constructor(
    readonly config: ServerConfig,
    private readonly opts: ConnectionOptions,
  ) {
    this.name = config.name;
    this.backoffMs = opts.backoffInitialMs;
  }

  /** A method, not a field read: TypeScript would narrow the state across the awaits that change it. */
  private isClosed(): boolean {
    return this.state === 'closed';
  }

  log(): Logger {
    return this.opts.log();
  }

  /** Why the last (re)connection attempt or call found the server unreachable ('' if none did). */
  get lastFailure(): string {
    return this.lastError;
  }

  get isReady(): boolean {
    return this.state === 'ready';
  }

  get callTimeoutMs(): number {
    return this.config.callTimeoutMs ?? this.opts.callTimeoutMs;
  }

  tools(): McpToolInfo[] {
    return [...this.toolMap.values()];
  }

  tool(name: string): McpToolInfo | undefined {
    return this.toolMap.get(name);
  }

  process(): ServerProcess | undefined {
    const t = this.transport;
    if (!(t instanceof GuardedStdioTransport) || t.pid === undefined || t.exit !== undefined) return undefined;
    return { server: this.name, pid: t.pid, serverPid: t.serverPid };
  }

  /** First connection at start-up. Throws McpStartError; the caller decides whether that is fatal. */
  async start(): Promise<void> {
    try {
      await this.connect();
    } catch (err) {
      if (err instanceof McpStartError) this.lastError = err.message;
      throw err;
    }
  }

  /** Keep trying in the background (a server that may fail at start-up). */
  retryLater(): void {
    this.state = 'down';
    this.scheduleRestart();
  }

  private buildTransport(): Transport {
    const c = this.config;
    if (c.transport === 'stdio') {
      const env: Record<string, string> = {};
      for (const k of PASSED_ENV) {
        const v = this.opts.env[k];
        if (v !== undefined) env[k] = v;
      }
      Object.assign(env, c.env);
      const command = c.command ?? '';
      if (resolveCommand(command, env.PATH) === undefined) throw new McpStartError(c.name, `command "${command}" not found on PATH or not executable`, []);
      return new GuardedStdioTransport({ server: c.name, command, args: c.args, env, stopGraceMs: this.opts.stopGraceMs, log: this.opts.log });
    }
    const headers: Record<string, string> = {};
    if (c.auth !== undefined) {
      const token = this.opts.secrets.get(c.auth);
      if (token === undefined) throw new McpStartError(c.name, `secret "${c.auth}" (its auth) has no value`, []);
      headers.authorization = `Bearer ${token}`;
    }
    const url = new URL(c.url ?? '');
    if (c.transport === 'sse') return new SSEClientTransport(url, { requestInit: { headers } });
    return new StreamableHTTPClientTransport(url, { requestInit: { headers } });
  }

  private async connect(): Promise<void> {
    this.state = 'connecting';
    const transport = this.buildTransport();
    const client = new Client({ name: 'agentspec', version: VERSION }, { capabilities: {} });
    client.onclose = () => this.onLost(client, 'connection closed');
    client.onerror = (err) => this.opts.log().debug({ server: this.name, err: errorMessage(err) }, 'MCP transport error');
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => this.refreshTools(client));
    this.client = client;
    this.transport = transport;
    try {
      await client.connect(transport, { timeout: this.opts.startTimeoutMs });
      this.toolMap = await this.listTools(client);
    } catch (err) {
      const stderr = transport instanceof GuardedStdioTransport ? transport.stderrTail() : [];
      const exit = transport instanceof GuardedStdioTransport ? transport.exit : undefined;
      this.client = undefined;
      await this.closeQuietly(client);
      const reason =
        exit !== undefined
          ? `it exited (${exit.signal ?? `code ${String(exit.code)}`}) before answering initialize`
          : err instanceof McpError && err.code === ErrorCode.RequestTimeout
            ? `no answer to initialize within ${this.opts.startTimeoutMs}ms`
            : `${this.config.transport === 'stdio' ? '' : `cannot connect to ${this.config.url ?? ''}: `}${describeError(err)}`;
      throw new McpStartError(this.name, reason, stderr, err);
    }
    if (this.isClosed()) {
      await this.closeQuietly(client);
      return;
    }
    this.state = 'ready';
    this.connectedAt = Date.now();
    for (const wake of this.readyWaiters) wake();
    this.readyWaiters.clear();
  }

  private async listTools(client: Client): Promise<Map<string, McpToolInfo>> {
    const out = new Map<string, McpToolInfo>();
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor === undefined ? {} : { cursor }, { timeout: this.opts.startTimeoutMs });
      for (const t of page.tools) {
        const inputSchema = t.inputSchema as Record<string, unknown>;
        const old = this.toolMap.get(t.name);
        const same = old !== undefined && JSON.stringify(old.inputSchema) === JSON.stringify(inputSchema);
        out.set(t.name, {
          name: t.name,
          description: t.description ?? t.title ?? '',
          inputSchema,
          check: same ? old.check : compileArgumentCheck(inputSchema, { server: this.name, tool: t.name }),
        });
      }
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    return out;
  }

  private async refreshTools(client: Client): Promise<void> {
    if (client !== this.client || this.state !== 'ready') return;
    try {
      const tools = await this.listTools(client);
      if (client !== this.client) return;
      this.toolMap = tools;
      this.opts.log().info({ server: this.name, tools: tools.size }, 'MCP tool list refreshed');
    } catch (err) {
      this.opts.log().warn({ server: this.name, err: describeError(err) }, 'MCP tool list refresh failed: keeping the previous list');
    }
  }

  /** The connection behind `client` is gone (process exit, transport failure). */
  private onLost(client: Client, why: string): void {
    if (client !== this.client || this.state === 'closed' || this.state === 'connecting') return;
    this.client = undefined;
    const wasReady = this.state === 'ready';
    this.state = 'down';
    if (Date.now() - this.connectedAt >= STABLE_MS) this.backoffMs = this.opts.backoffInitialMs;
    const t = this.transport;
    const stdio = t instanceof GuardedStdioTransport ? { exit: t.exit, stderr: t.stderrTail().slice(-5) } : {};
    if (wasReady) this.opts.log().warn({ server: this.name, reason: why, ...stdio, restart_in_ms: this.backoffMs }, 'MCP server connection lost: restarting');
    this.closeQuietly(client).then(
      () => this.scheduleRestart(),
      (err: unknown) => {
        this.opts.log().warn({ server: this.name, err: errorMessage(err) }, 'MCP connection close failed');
        this.scheduleRestart();
      },
    );
  }

  private scheduleRestart(): void {
    if (this.state === 'closed' || this.restartTimer !== undefined) return;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.opts.backoffMaxMs);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.state === 'closed') return;
      this.connect().then(
        () => {
          if (this.state !== 'ready') return;
          this.restarts++;
          this.opts.log().info({ server: this.name, restarts: this.restarts, tools: this.toolMap.size }, 'MCP server restarted');
        },
        (err: unknown) => {
          this.lastError = errorMessage(err);
          if (this.state === 'closed') return;
          this.state = 'down';
          this.opts.log().warn({ server: this.name, err: this.lastError, retry_in_ms: this.backoffMs }, 'MCP server restart failed');
          this.scheduleRestart();
        },
      );
    }, delay);
  }

  private async closeQuietly(client: Client): Promise<void> {
    try {
      await client.close();
    } catch (err) {
      this.opts.log().warn({ server: this.name, err: errorMessage(err) }, 'closing MCP client failed');
    }
  }

  /** Wait until the connection is ready, at most `ms`. */
  private whenReady(ms: number, signal: AbortSignal): Promise<Client | undefined> {
    if (this.state === 'ready' && this.client !== undefined) return Promise.resolve(this.client);
    if (this.state === 'closed' || ms <= 0) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.readyWaiters.delete(done);
        resolve(this.state === 'ready' ? this.client : undefined);
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener('abort', done, { once: true });
      this.readyWaiters.add(done);
    });
  }

  /**
   * Call `tool`. Resolves with the result or with what went wrong; rejects only when `signal`
   * is aborted.
   */
  async call(tool: string, args: Record<string, unknown>, signal: AbortSignal, timeoutMs: number): Promise<CallResult> {
    const deadline = Date.now() + timeoutMs;
    const client = await this.whenReady(timeoutMs, signal);
    signal.throwIfAborted();
    if (client === undefined) {
      const why = this.state === 'closed' ? 'the runtime is shutting down' : `it is not connected (restarting${this.lastError === '' ? '' : `; last error: ${this.lastError}`})`;
      return { ok: false, kind: 'unavailable', message: `MCP server "${this.name}" is unavailable: ${why}` };
    }
    // The SDK never removes the abort listener it puts on a request's signal: give it a signal of
    // its own per call, so a long turn's signal does not collect one listener per call.
    const perCall = new AbortController();
    const forward = (): void => perCall.abort(signal.reason);
    signal.addEventListener('abort', forward, { once: true });
    try {
      const result = await client.callTool({ name: tool, arguments: args }, undefined, { signal: perCall.signal, timeout: Math.max(1, deadline - Date.now()) });
      if (Date.now() - this.connectedAt >= STABLE_MS) this.backoffMs = this.opts.backoffInitialMs;
      return { ok: true, result: result as Record<string, unknown> };
    } catch (err) {
      signal.throwIfAborted();
      if (err instanceof McpError) {
        if (err.code === ErrorCode.RequestTimeout) return { ok: false, kind: 'timeout', message: `MCP tool "${tool}" on server "${this.name}" timed out after ${timeoutMs}ms` };
        if (err.code === ErrorCode.ConnectionClosed) return { ok: false, kind: 'unavailable', message: `MCP server "${this.name}" went away during the call; it is being restarted` };
        return { ok: false, kind: 'protocol_error', message: `MCP server "${this.name}" refused the call: ${err.message}` };
      }
      // A transport failure (refused connection, lost HTTP session): the connection is no good.
      const message = `MCP server "${this.name}" could not be reached: ${describeError(err)}`;
      this.lastError = message;
      this.onLost(client, describeError(err));
      return { ok: false, kind: 'unavailable', message };
    } finally {
      signal.removeEventListener('abort', forward);
    }
  }

  async close(): Promise<void> {
    this.state = 'closed';
    if (this.restartTimer !== undefined) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    for (const wake of this.readyWaiters) wake();
    this.readyWaiters.clear();
    const client = this.client;
    this.client = undefined;
    if (client !== undefined) await this.closeQuietly(client);
    else await this.transport?.close();
  }
}
