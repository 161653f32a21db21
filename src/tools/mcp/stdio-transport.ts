/**
 * MCP over stdio to a server that runs under the guard (guard.ts): the SDK's own stdio transport
 * cannot put the server in a process group of its own nor tie its life to ours, so this one
 * spawns the child itself and speaks the SDK's framing (ReadBuffer / serializeMessage).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { ReadBuffer, serializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from '../../log.ts';
import { guardArgv } from './guard.ts';

const STDERR_TAIL_LINES = 20;

export interface StdioServerParams {
  server: string;
  command: string;
  args: readonly string[];
  env: Record<string, string>;
  /** How long a stopping server gets between SIGTERM and SIGKILL. */
  stopGraceMs: number;
  log: () => Logger;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

function killGroup(pgid: number, signal: NodeJS.Signals, server: string, log: () => Logger): void {
  try {
    process.kill(-pgid, signal);
  } catch (err) {
    // The group is already gone: nothing left to stop.
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return;
    log().warn({ server, pgid, signal, err: String(err) }, 'could not signal MCP server process group');
  }
}

export class GuardedStdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  private child: ChildProcess | undefined;
  private readonly buffer = new ReadBuffer();
  private readonly tail: string[] = [];
  private partialLine = '';
  private exitInfo: ExitInfo | undefined;
  private exited: Promise<void> | undefined;
  /** Pid of the server itself (the guard's child), once the guard reported it. */
  serverPid: number | undefined;

  constructor(private readonly params: StdioServerParams) {}

  /** Pid of the guard, which is also the process group id of the server and its children. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  get exit(): ExitInfo | undefined {
    return this.exitInfo;
  }

  /** The last lines the server wrote to stderr. */
  stderrTail(): string[] {
    const out = [...this.tail];
    if (this.partialLine !== '') out.push(this.partialLine);
    return out;
  }

  async start(): Promise<void> {
    if (this.child !== undefined) throw new Error('transport already started');
    const { server, command, args, env } = this.params;
    const child = spawn(process.execPath, guardArgv(command, args), {
      detached: true,
      env: { ...env, AGENTSPEC_MCP_GUARD_GRACE_MS: String(this.params.stopGraceMs) },
      stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
    });
    this.child = child;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        if (child.pid !== undefined) killGroup(child.pid, 'SIGKILL', server, this.params.log);
        resolve();
      });
    });
    child.once('close', () => this.onclose?.());
    child.stdout?.on('data', (chunk: Buffer) => this.onData(chunk));
    child.stdout?.on('error', (err) => this.onerror?.(err));
    child.stdin?.on('error', (err) => this.onerror?.(err));
    child.stderr?.setEncoding('utf8').on('data', (text: string) => this.onStderr(text));
    const lifeline = child.stdio[3] as Readable | null;
    lifeline?.setEncoding('utf8').on('data', (text: string) => {
      const m = /"pid":(\d+)/.exec(text);
      if (m !== null) this.serverPid = Number(m[1]);
    });
    lifeline?.on('error', (err) => this.onerror?.(err));
    const [event] = (await Promise.race([once(child, 'spawn').then(() => ['spawn']), once(child, 'error').then((e) => ['error', e[0]])])) as [string, unknown?];
    if (event === 'error') throw new Error(`cannot run ${process.execPath} for MCP server "${server}"`);
  }

  private onData(chunk: Buffer): void {
    this.buffer.append(chunk);
    for (;;) {
      let message: JSONRPCMessage | null;
      try {
        message = this.buffer.readMessage();
      } catch (err) {
        this.onerror?.(err instanceof Error ? err : new Error(String(err)));
        continue;
      }
      if (message === null) return;
      this.onmessage?.(message);
    }
  }

  private onStderr(text: string): void {
    const lines = (this.partialLine + text).split('\n');
    this.partialLine = lines.pop() ?? '';
    const log = this.params.log();
    for (const line of lines) {
      if (line === '') continue;
      log.debug({ server: this.params.server, stderr: line }, 'MCP server stderr');
      this.tail.push(line);
      if (this.tail.length > STDERR_TAIL_LINES) this.tail.shift();
    }
  }

  send(message: JSONRPCMessage): Promise<void> {
    const stdin = this.child?.stdin;
    if (stdin === undefined || stdin === null || !stdin.writable || this.exitInfo !== undefined) {
      return Promise.reject(new Error(`MCP server "${this.params.server}" is not running`));
    }
    // Resolve once the pipe took it (or drained), like the SDK's own transport: waiting for each
    // write's completion callback would add a turn of the event loop to every call. Write errors
    // arrive as the stream's 'error' event, which goes to onerror, and the exit closes the client.
    if (stdin.write(serializeMessage(message))) return Promise.resolve();
    return new Promise((resolve) => stdin.once('drain', resolve));
  }

  /** Stop the server: SIGTERM to its group, SIGKILL after the grace period. */
  async close(): Promise<void> {
    const child = this.child;
    if (child === undefined || child.pid === undefined) return;
    if (this.exitInfo === undefined) {
      child.stdin?.end();
      killGroup(child.pid, 'SIGTERM', this.params.server, this.params.log);
      const timer = setTimeout(() => {
        if (child.pid !== undefined) killGroup(child.pid, 'SIGKILL', this.params.server, this.params.log);
      }, this.params.stopGraceMs);
      await this.exited;
      clearTimeout(timer);
    }
    // The guard is gone; make sure nothing it started lingers.
    killGroup(child.pid, 'SIGKILL', this.params.server, this.params.log);
    if (child.exitCode === null && child.signalCode === null) await this.exited;
  }
}
