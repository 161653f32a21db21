import { spawn } from 'node:child_process';
import { logger } from '../log.ts';

export interface ProcessSpec {
  /** argv[0] is an absolute path: nothing is looked up on PATH, no shell is involved. */
  argv: string[];
  stdin: string;
  env: Record<string, string>;
  cwd: string;
  timeoutMs: number;
  /** Bytes of stdout kept; beyond it the process is stopped and the output marked truncated. */
  outputCap: number;
  /** Bytes of stderr kept for the error text. */
  stderrCap: number;
  signal: AbortSignal;
}

export interface ProcessResult {
  exitCode: number | null;
  /** The signal that ended it, when it did not exit by itself. */
  exitSignal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stdout bytes produced (counted up to the moment it was stopped). */
  bytes: number;
  truncated: boolean;
  timedOut: boolean;
  /** The process could not be started at all (errno text). */
  spawnError?: string;
}

class Capped {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  total = 0;

  constructor(private readonly cap: number) {}

  /** false once the cap is passed. */
  push(chunk: Buffer): boolean {
    this.total += chunk.length;
    const room = this.cap - this.kept;
    if (room > 0) {
      const part = chunk.length <= room ? chunk : chunk.subarray(0, room);
      this.chunks.push(part);
      this.kept += part.length;
    }
    return this.total <= this.cap;
  }

  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch (err) {
    // ESRCH: the whole group is already gone, which is what we wanted.
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') logger('tools').warn({ pid, err }, 'killing a tool process group failed');
  }
}

/**
 * Run one process in its own process group; the timeout, the output cap and an abort kill the
 * whole group, and so does the end of the leader (no background child outlives its call).
 * Rejects only when `signal` aborts.
 */
export function runProcess(spec: ProcessSpec): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    if (spec.signal.aborted) {
      reject(spec.signal.reason as Error);
      return;
    }
    const [file, ...args] = spec.argv;
    const child = spawn(file ?? '', args, { cwd: spec.cwd, env: spec.env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    const out = new Capped(spec.outputCap);
    const err = new Capped(spec.stderrCap);
    let truncated = false;
    let timedOut = false;
    let spawnError: string | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid);
    }, spec.timeoutMs);
    const onAbort = (): void => killGroup(child.pid);
    spec.signal.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (c: Buffer) => {
      if (!out.push(c) && !truncated) {
        truncated = true;
        killGroup(child.pid);
      }
    });
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.stdin.on('error', (e: NodeJS.ErrnoException) => {
      // A tool that exits without reading its input closes the pipe: not a failure of ours.
      if (e.code !== 'EPIPE' && e.code !== 'ECONNRESET') logger('tools').warn({ pid: child.pid, err: e }, 'writing a tool\'s stdin failed');
    });
    child.on('error', (e: NodeJS.ErrnoException) => {
      spawnError = e.code ?? e.message;
    });
    child.on('close', (code, sig) => {
      clearTimeout(timer);
      spec.signal.removeEventListener('abort', onAbort);
      killGroup(child.pid);
      if (spec.signal.aborted) {
        reject(spec.signal.reason as Error);
        return;
      }
      resolve({
        exitCode: code,
        exitSignal: sig,
        stdout: out.text(),
        stderr: err.text(),
        bytes: out.total,
        truncated,
        timedOut,
        ...(spawnError === undefined ? {} : { spawnError }),
      });
    });
    child.stdin.end(spec.stdin);
  });
}
