// The start-up handshake between the process adapter and the runtime it spawns. The adapter
// hands the child a pipe as file descriptor READY_FD and names it in READY_FD_ENV; the runtime
// writes one line there once it listens. The adapter then checks health once, instead of polling
// with a back-off that, on average, noticed a ready runtime only half a back-off step late.
//
// A runtime may also be started ahead of time, as a standby: the adapter then hands it a second
// pipe as GO_FD (named in GO_FD_ENV). The standby loads its code, then waits for the `go` line
// before it reads its snapshot or binds its port, so its cold start overlaps the work apply does
// before it needs the runtime. A standby whose pipe closes without `go` (apply finished without
// it, or was killed) exits without having served anything.
import type { ChildProcess } from 'node:child_process';
import { closeSync, writeSync } from 'node:fs';
import net from 'node:net';
import type { Readable } from 'node:stream';
import { errorMessage } from '../errors.ts';
import { logger } from '../log.ts';

export const READY_FD = 3;
export const READY_FD_ENV = 'AGENTSPEC_READY_FD';
const READY_LINE = 'ready';
export const GO_FD = 4;
export const GO_FD_ENV = 'AGENTSPEC_GO_FD';
export const GO_LINE = 'go';

/**
 * Runtime side: undefined when this process was not started as a standby. Otherwise resolves true
 * once the process that started it says `go`, false when the pipe closes (or fails) without it.
 * The variable is removed so that nothing this process starts later inherits it.
 */
export function waitForGo(env: NodeJS.ProcessEnv = process.env): Promise<boolean> | undefined {
  const raw = env[GO_FD_ENV];
  if (raw === undefined || raw === '') return undefined;
  delete env[GO_FD_ENV];
  const fd = Number(raw);
  if (!Number.isInteger(fd) || fd < 3) {
    logger('runtime').warn({ [GO_FD_ENV]: raw }, 'ignoring a start descriptor that is not a number above 2');
    return undefined;
  }
  return new Promise((resolve) => {
    const pipe = new net.Socket({ fd, readable: true, writable: false });
    let received = '';
    const done = (go: boolean): void => {
      pipe.off('data', onData).off('end', onEnd).off('close', onEnd).off('error', onError);
      pipe.destroy();
      resolve(go);
    };
    const onData = (chunk: Buffer): void => {
      received += chunk.toString();
      if (received.split('\n').includes(GO_LINE)) done(true);
    };
    const onEnd = (): void => done(false);
    const onError = (err: Error): void => {
      logger('runtime').warn({ fd, err: errorMessage(err) }, 'the start descriptor failed; not starting');
      done(false);
    };
    pipe.on('data', onData).once('end', onEnd).once('close', onEnd).once('error', onError);
  });
}

/**
 * Runtime side: tell the process that started us (if it asked, through READY_FD_ENV) that we
 * listen. The variable is removed so that nothing this process starts later inherits it. A parent
 * that is gone (EPIPE) is logged: the runtime serves all the same.
 */
export function signalReady(env: NodeJS.ProcessEnv = process.env): void {
  const raw = env[READY_FD_ENV];
  if (raw === undefined || raw === '') return;
  delete env[READY_FD_ENV];
  const fd = Number(raw);
  if (!Number.isInteger(fd) || fd < 3) {
    logger('runtime').warn({ [READY_FD_ENV]: raw }, 'ignoring a readiness descriptor that is not a number above 2');
    return;
  }
  try {
    writeSync(fd, `${READY_LINE}\n`);
  } catch (err) {
    logger('runtime').warn({ fd, err: errorMessage(err) }, 'could not signal readiness to the process that started this runtime');
  }
  try {
    closeSync(fd);
  } catch (err) {
    logger('runtime').warn({ fd, err: errorMessage(err) }, 'could not close the readiness descriptor');
  }
}

export type ReadyOutcome =
  /** The child wrote the ready line. */
  | { kind: 'ready' }
  /** The child closed the pipe without the line: it will not signal; only health checks can tell. */
  | { kind: 'silent' }
  | { kind: 'exited'; code: number | null; signal: NodeJS.Signals | null }
  | { kind: 'aborted' }
  | { kind: 'timeout' };

export interface WaitOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** Called once per whole second waited. */
  onSecond?: (seconds: number) => void;
}

/**
 * Adapter side: wait until `child` (spawned with a pipe at READY_FD) signals readiness, exits,
 * closes the pipe, or the timeout or `signal` ends the wait. The pipe is closed on return, so it
 * never keeps the caller's event loop alive.
 */
export function waitForReady(child: ChildProcess, opts: WaitOptions): Promise<ReadyOutcome> {
  const pipe = child.stdio[READY_FD] as Readable | null | undefined;
  if (child.exitCode !== null || child.signalCode !== null) {
    pipe?.destroy();
    return Promise.resolve({ kind: 'exited', code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => {
    let seconds = 0;
    let received = '';
    const started = Date.now();
    const ticker = setInterval(() => {
      const waited = Math.floor((Date.now() - started) / 1000);
      if (waited > seconds) {
        seconds = waited;
        opts.onSecond?.(waited);
      }
    }, 250);
    const timer = setTimeout(() => done({ kind: 'timeout' }), opts.timeoutMs);
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => done({ kind: 'exited', code, signal });
    const onAbort = (): void => done({ kind: 'aborted' });
    const onData = (chunk: Buffer | string): void => {
      received += chunk.toString();
      if (received.split('\n').includes(READY_LINE)) done({ kind: 'ready' });
    };
    const onEnd = (): void => done({ kind: 'silent' });
    const onError = (err: Error): void => {
      logger('adapters').warn({ runtime_pid: child.pid, err: errorMessage(err) }, 'readiness pipe failed; falling back to health checks');
      done({ kind: 'silent' });
    };
    function done(outcome: ReadyOutcome): void {
      clearInterval(ticker);
      clearTimeout(timer);
      child.off('exit', onExit);
      opts.signal?.removeEventListener('abort', onAbort);
      pipe?.off('data', onData).off('end', onEnd).off('error', onError);
      pipe?.destroy();
      resolve(outcome);
    }
    child.once('exit', onExit);
    if (opts.signal?.aborted === true) {
      onAbort();
      return;
    }
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (pipe === null || pipe === undefined) {
      done({ kind: 'silent' });
      return;
    }
    pipe.on('data', onData).once('end', onEnd).once('error', onError);
  });
}
