import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { AgentspecError, errorMessage } from '../errors.ts';
import { logger } from '../log.ts';
import type { RuntimeInfo } from '../state/types.ts';
import { PACKAGE_ROOT } from '../version.ts';
import { childEnv } from './child-env.ts';
import { GO_FD, GO_FD_ENV, GO_LINE, READY_FD, READY_FD_ENV, waitForReady } from './readiness.ts';
import {
  HealthTimeoutError,
  PortInUseError,
  RuntimeStartError,
  RuntimeStopError,
  StartInterruptedError,
} from './errors.ts';
import { readPidFile, removePidFile, tailOf, writeFileDurably } from './files.ts';
import { logPath, pidPath, snapshotPath } from './paths.ts';
import { findRuntimes, isRuntimeOf, terminate } from './processes.ts';
import type {
  Adapter,
  DeployRequest,
  PreparedDeploy,
  RuntimeStatus,
  Standby,
  StartOptions,
  StopResult,
} from './types.ts';

const HOST = '127.0.0.1';
/**
 * What a runtime is started from: the bundled CLI when the build made it (it starts in about two
 * thirds of the time of bin/agentspec.js, see scripts/build.js), the CLI itself otherwise.
 */
function defaultRuntimeEntry(): string {
  const bundled = path.join(PACKAGE_ROOT, 'dist', 'runtime.cjs');
  return existsSync(bundled) ? bundled : path.join(PACKAGE_ROOT, 'bin', 'agentspec.js');
}

export interface ProcessAdapterOptions {
  /** How long `start` waits for the health check (default 30 s, env AGENTSPEC_START_TIMEOUT_MS). */
  startTimeoutMs?: number;
  /** Time between SIGTERM and SIGKILL when stopping (default 5 s, env AGENTSPEC_STOP_GRACE_MS). */
  stopGraceMs?: number;
  /** The script started as `node <script> run --ir …` (default: this package's dist/runtime.cjs). */
  runtimeEntry?: string;
}

function envMs(name: string, fallback: number): number {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

/** Resolves when the port can be bound on `host`; PortInUseError when something holds it. */
async function assertPortFree(host: string, port: number): Promise<void> {
  const srv = net.createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', (err: NodeJS.ErrnoException) => {
      reject(err.code === 'EADDRINUSE' || err.code === 'EACCES' ? new PortInUseError(host, port, err) : err);
    });
    srv.listen({ host, port, exclusive: true }, () => resolve());
  });
  await new Promise<void>((resolve, reject) => srv.close((err) => (err ? reject(err) : resolve())));
}

/** One health probe; a fresh connection each time so no socket outlives the command. */
function healthy(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: 1_000 }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300));
      res.once('error', () => resolve(false));
    });
    req.once('timeout', () => req.destroy(new Error('health check timed out')));
    req.once('error', (err) => {
      logger('adapters').trace({ url, err: errorMessage(err) }, 'health check failed');
      resolve(false);
    });
  });
}

/**
 * A runtime spawned ahead of its start (see readiness.ts). Its pid is in the pid file from the
 * moment it exists; it reads nothing and binds nothing until `go`, and exits by itself when its pipe
 * closes without it (this process ended, or was killed).
 */
class ProcessStandby implements Standby {
  private state: 'waiting' | 'taken' | 'dismissed' = 'waiting';
  private exited = false;

  constructor(
    readonly prepared: PreparedDeploy,
    private readonly child: ChildProcess,
    readonly pid: number,
    private readonly stopGraceMs: number,
  ) {
    child.once('exit', () => (this.exited = true));
  }

  /** The process, for `start` to tell it to go; undefined when it is no longer there to take. */
  take(): { child: ChildProcess; pid: number; go: () => void } | undefined {
    if (this.state !== 'waiting' || this.exited || this.child.exitCode !== null || this.child.signalCode !== null) return undefined;
    // A child that died is a zombie until this process reaps it, and its exit is not known here
    // before that: the process table says so first.
    if (!isRuntimeOf(this.pid, this.prepared.snapshotPath)) return undefined;
    this.state = 'taken';
    const pipe = this.child.stdio[GO_FD] as Duplex | null;
    return {
      child: this.child,
      pid: this.pid,
      go: () => {
        pipe?.end(`${GO_LINE}\n`);
        // Closed by the runtime once it has read the line; it must not keep apply running.
        (pipe as { unref?: () => void } | null)?.unref?.();
      },
    };
  }

  async dismiss(): Promise<void> {
    if (this.state !== 'waiting') return;
    this.state = 'dismissed';
    // Closing its pipe is what ends a standby; the signal is for one that does not notice.
    (this.child.stdio[GO_FD] as Duplex | null)?.destroy();
    (this.child.stdio[READY_FD] as Duplex | null)?.destroy();
    // Verified first, like every pid this adapter signals: once it has exited, the pid may be reused.
    const how = !this.exited && isRuntimeOf(this.pid, this.prepared.snapshotPath) ? await terminate(this.pid, this.stopGraceMs) : 'gone';
    removePidFile(this.prepared.pidPath, this.pid);
    logger('adapters').debug({ package: this.prepared.package, runtime_pid: this.pid, how }, 'unused runtime standby stopped');
  }
}

/**
 * Runs a package as `agentspec run --ir <snapshot>`: a detached local process with its output in
 * `.agentspec/logs/<package>.log` and its pid in `.agentspec/run/<package>.pid`.
 */
export class ProcessAdapter implements Adapter {
  readonly name = 'process';
  readonly supported = true;
  private readonly startTimeoutMs: number;
  private readonly stopGraceMs: number;
  private readonly runtimeEntry: string;

  constructor(opts: ProcessAdapterOptions = {}) {
    this.runtimeEntry = opts.runtimeEntry ?? defaultRuntimeEntry();
    this.startTimeoutMs = opts.startTimeoutMs ?? envMs('AGENTSPEC_START_TIMEOUT_MS', 30_000);
    this.stopGraceMs = opts.stopGraceMs ?? envMs('AGENTSPEC_STOP_GRACE_MS', 5_000);
  }

  prepare(req: DeployRequest): Promise<PreparedDeploy> {
    const { port } = req.target;
    if (!Number.isInteger(port) || port < 1 || port > 65_535) {
      return Promise.reject(
        new AgentspecError('E_TARGET_PORT', `deploy target "${req.target.name}" has no valid port (${String(port)})`),
      );
    }
    return Promise.resolve({
      package: req.package,
      document: req.document,
      port,
      endpoint: `http://${HOST}:${port}`,
      snapshotPath: snapshotPath(req.stateDir, req.package),
      healthPath: req.target.healthPath,
      logPath: logPath(req.stateDir, req.package),
      pidPath: pidPath(req.stateDir, req.package),
    });
  }

  /** Spawn `agentspec run` for `p`; with `standby`, it also gets the pipe it waits on for `go`. */
  private async spawnRuntime(p: PreparedDeploy, standby: boolean): Promise<{ child: ChildProcess; pid: number }> {
    mkdirSync(path.dirname(p.logPath), { recursive: true, mode: 0o700 });
    mkdirSync(path.dirname(p.pidPath), { recursive: true, mode: 0o700 });
    const out = openSync(p.logPath, 'a', 0o600);
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, [this.runtimeEntry, 'run', '--ir', p.snapshotPath, '--port', String(p.port), '--host', HOST], {
        // The directory of the state file, where a user's relative paths are meant from.
        cwd: path.resolve(path.dirname(p.snapshotPath), '..', '..'),
        detached: true,
        // fd 3: the pipe the runtime says "ready" on once it listens; fd 4 (a standby's): the
        // pipe it is told "go" on (see readiness.ts).
        stdio: standby ? ['ignore', out, out, 'pipe', 'pipe'] : ['ignore', out, out, 'pipe'],
        env: {
          ...childEnv(process.env, p.document),
          [READY_FD_ENV]: String(READY_FD),
          ...(standby ? { [GO_FD_ENV]: String(GO_FD) } : {}),
        },
      });
    } finally {
      closeSync(out);
    }
    const pid = child.pid;
    if (pid === undefined) {
      const err = await new Promise<Error>((resolve) => child.once('error', resolve));
      throw new RuntimeStartError(`could not start the runtime: ${err.message}`, p.logPath, err);
    }
    // Written before anything else so that a kill from here on leaves a pid the next apply can find.
    writeFileDurably(p.pidPath, `${pid}\n`);
    child.unref();
    for (const fd of standby ? [READY_FD, GO_FD] : [READY_FD]) {
      // A pipe of a child that died may fail; the exit is what gets reported, through the start.
      (child.stdio[fd] as Duplex | null)?.on('error', (err) => {
        logger('adapters').debug({ package: p.package, runtime_pid: pid, fd, err: errorMessage(err) }, 'runtime pipe failed');
      });
    }
    return { child, pid };
  }

  async standby(p: PreparedDeploy): Promise<Standby> {
    const { child, pid } = await this.spawnRuntime(p, true);
    logger('adapters').debug({ package: p.package, runtime_pid: pid, snapshot: p.snapshotPath }, 'runtime process spawned ahead of its start');
    return new ProcessStandby(p, child, pid, this.stopGraceMs);
  }

  async start(p: PreparedDeploy, opts: StartOptions = {}): Promise<RuntimeInfo> {
    const log = logger('adapters');
    const aborted = (): boolean => opts.signal?.aborted === true;
    if (aborted()) throw new StartInterruptedError(0);
    // A busy port is reported now, not discovered as a health-check timeout later.
    await assertPortFree(HOST, p.port);
    // The runtime serves the spec as applied, not whatever the files say later. Written only now,
    // after the previous runtime stopped, so the snapshot always is what the last runtime serves.
    writeFileDurably(p.snapshotPath, `${JSON.stringify(p.document, null, 2)}\n`);

    // A standby has loaded its code already; it reads the snapshot just written once told to go.
    const ready = opts.standby instanceof ProcessStandby && opts.standby.prepared.snapshotPath === p.snapshotPath ? opts.standby.take() : undefined;
    let child: ChildProcess;
    let pid: number;
    if (ready !== undefined) {
      ({ child, pid } = ready);
    } else {
      // Gone (or never one): it must not linger, and a fresh process takes its place.
      await opts.standby?.dismiss();
      ({ child, pid } = await this.spawnRuntime(p, false));
    }
    const startedAt = new Date();
    log.info({ package: p.package, runtime_pid: pid, port: p.port, snapshot: p.snapshotPath }, 'runtime process started');
    opts.onProgress?.({ kind: 'spawned', pid });

    let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    child.once('exit', (code, sig) => (exited = { code, signal: sig }));
    child.once('error', (err) => {
      log.error({ package: p.package, runtime_pid: pid, err: errorMessage(err) }, 'runtime process error');
    });
    ready?.go();

    const timeoutMs = opts.startTimeoutMs ?? this.startTimeoutMs;
    const deadline = Date.now() + timeoutMs;
    const url = `${p.endpoint}${p.healthPath}`;
    const readiness = await waitForReady(child, {
      timeoutMs,
      ...(opts.signal === undefined ? {} : { signal: opts.signal }),
      onSecond: (seconds) => opts.onProgress?.({ kind: 'waiting', seconds }),
    });
    if (readiness.kind === 'exited') exited ??= { code: readiness.code, signal: readiness.signal };
    let reportedSecond = Math.floor((Date.now() - startedAt.getTime()) / 1000);
    // After the signal, one health check normally settles it; the back-off below is what is left
    // for a runtime that closed the pipe without signalling or whose health path is not ready yet.
    let delay = 25;
    for (;;) {
      if (exited !== undefined) {
        removePidFile(p.pidPath, pid);
        const tail = tailOf(p.logPath, 5);
        const how = exited.code !== null ? `exit code ${exited.code}` : `signal ${String(exited.signal)}`;
        const busy = /EADDRINUSE/.test(tail) ? ` (port ${p.port} is in use)` : '';
        throw new RuntimeStartError(
          `the runtime exited during start with ${how}${busy}${tail === '' ? '' : `:\n${tail}\n`}`,
          p.logPath,
        );
      }
      if (aborted()) {
        await this.rollback(p, pid);
        throw new StartInterruptedError(pid);
      }
      if (Date.now() >= deadline) {
        await this.rollback(p, pid);
        throw new HealthTimeoutError(url, timeoutMs, p.logPath, readiness.kind === 'ready');
      }
      if (await healthy(url)) break;
      const waited = Math.floor((Date.now() - startedAt.getTime()) / 1000);
      if (waited > reportedSecond) {
        reportedSecond = waited;
        opts.onProgress?.({ kind: 'waiting', seconds: waited });
      }
      await sleep(delay);
      delay = Math.min(delay * 2, 200);
    }
    log.info({ package: p.package, runtime_pid: pid, endpoint: p.endpoint, ms: Date.now() - startedAt.getTime() }, 'runtime healthy');
    return { pid, port: p.port, endpoint: p.endpoint, started_at: startedAt.toISOString() };
  }

  async rollback(p: PreparedDeploy, pid: number): Promise<void> {
    const how = await terminate(pid, this.stopGraceMs);
    logger('adapters').warn({ package: p.package, runtime_pid: pid, how }, 'runtime start rolled back');
    removePidFile(p.pidPath, pid);
  }

  private candidates(pkg: string, stateDir: string, extra: readonly number[]): { snapshot: string; pids: number[] } {
    const snapshot = snapshotPath(stateDir, pkg);
    const set = new Set<number>(extra.filter((pid) => Number.isInteger(pid) && pid > 0));
    const fromFile = readPidFile(pidPath(stateDir, pkg));
    if (fromFile !== undefined) set.add(fromFile);
    // AGENTSPEC_PROCESS_SCAN=off leaves only what was recorded (state, pid file): tests use it to prove
    // that the records alone find every runtime an interrupted apply left.
    if (process.env.AGENTSPEC_PROCESS_SCAN !== 'off') for (const pid of findRuntimes(snapshot)) set.add(pid);
    return { snapshot, pids: [...set].sort((a, b) => a - b) };
  }

  private async terminateAll(pkg: string, snapshot: string, pids: readonly number[], why: string): Promise<StopResult> {
    const result: StopResult = { stopped: [], killed: [] };
    const failures: Array<{ pid: number; error: string }> = [];
    for (const pid of pids) {
      // A recorded pid may since belong to an unrelated program: only signal our runtime.
      if (!isRuntimeOf(pid, snapshot)) continue;
      let how: Awaited<ReturnType<typeof terminate>>;
      try {
        how = await terminate(pid, this.stopGraceMs);
      } catch (err) {
        // One process that cannot be stopped must not leave the others running.
        failures.push({ pid, error: errorMessage(err) });
        logger('adapters').error({ package: pkg, runtime_pid: pid, err: errorMessage(err) }, 'runtime process could not be stopped');
        continue;
      }
      if (how === 'gone') continue;
      result.stopped.push(pid);
      if (how === 'kill') result.killed.push(pid);
      const fields = { package: pkg, runtime_pid: pid, signal: how === 'kill' ? 'SIGKILL' : 'SIGTERM' };
      if (why === 'stop') logger('adapters').info(fields, 'runtime process stopped');
      else logger('adapters').warn(fields, 'untracked runtime process stopped');
    }
    if (failures.length > 0) throw new RuntimeStopError(pkg, failures);
    return result;
  }

  async stop(pkg: string, stateDir: string, pids: readonly number[], spare: readonly number[] = []): Promise<StopResult> {
    const { snapshot, pids: all } = this.candidates(pkg, stateDir, pids);
    const result = await this.terminateAll(pkg, snapshot, all.filter((pid) => !spare.includes(pid)), 'stop');
    const file = pidPath(stateDir, pkg);
    // The pid file keeps naming a spared standby: it is that process's only record until it starts.
    const inFile = readPidFile(file);
    if (inFile === undefined || !spare.includes(inFile)) removePidFile(file);
    return result;
  }

  async reap(pkg: string, stateDir: string, keep: readonly number[]): Promise<StopResult> {
    const { snapshot, pids } = this.candidates(pkg, stateDir, []);
    return this.terminateAll(pkg, snapshot, pids.filter((pid) => !keep.includes(pid)), 'reap');
  }

  async inspect(pkg: string, stateDir: string, info: RuntimeInfo, healthPath = '/healthz'): Promise<RuntimeStatus> {
    if (!isRuntimeOf(info.pid, snapshotPath(stateDir, pkg))) {
      return { state: 'stopped', health: 'down' };
    }
    const started = Date.parse(info.started_at);
    const status: RuntimeStatus = {
      state: 'running',
      health: (await healthy(`${info.endpoint}${healthPath}`)) ? 'healthy' : 'unhealthy',
    };
    if (Number.isFinite(started)) status.uptimeSeconds = Math.max(0, Math.round((Date.now() - started) / 1000));
    return status;
  }
}
