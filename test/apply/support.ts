// Shared by the apply integration tests: temp workspaces, spec files, and making sure every
// runtime process a test started is gone afterwards (a leaked one would hold a port for others).
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { findRuntimes, snapshotPath } from '../../src/adapters/index.ts';
import type { State } from '../../src/state/types.ts';
import { spawn } from 'node:child_process';
import { CLI, jsonLogLines, runCli, type CliResult } from '../helpers/cli.ts';

/**
 * A loaded test machine can take far longer than a user's to start a runtime; waiting longer
 * only slows a failing test down, it never hides a failure.
 */
export const TEST_ENV = { AGENTSPEC_STOP_GRACE_MS: '3000', AGENTSPEC_START_TIMEOUT_MS: '120000' };

export interface Workspace {
  dir: string;
  stateFile: string;
  /** Run the CLI in the workspace with JSON logs and this workspace's state file. */
  cli(args: string[], opts?: { timeoutMs?: number; env?: NodeJS.ProcessEnv }): Promise<CliResult>;
  /** Write `<name>.ias` for a package with `agents` agents (each with a prompt) on `port`. */
  writeSpec(name: string, port: number, opts?: SpecOptions): string;
  readState(): State;
  /** SIGKILL every runtime process started from this workspace and remove it. */
  cleanup(): Promise<void>;
}

export interface SpecOptions {
  agents?: number;
  skills?: number;
  /** Changes every prompt's content: a different value is an update. */
  version?: string;
  target?: string;
  file?: string;
}

export function specText(pkg: string, port: number, opts: SpecOptions = {}): string {
  const agents = opts.agents ?? 1;
  const skills = opts.skills ?? 0;
  const out = [`package "${pkg}" version "0.1.0" lang "2.0"`, ''];
  for (let i = 0; i < agents; i++) {
    out.push(`prompt "p${i}" {`, `  content "You are agent ${i} (${opts.version ?? 'v1'})."`, '}', '');
  }
  for (let i = 0; i < skills; i++) {
    out.push(
      `skill "s${i}" {`,
      `  description "skill ${i}"`,
      '  input {',
      '    q string',
      '  }',
      '  output {',
      '    a string',
      '  }',
      '  tool command {',
      '    binary "echo"',
      '  }',
      '}',
      '',
    );
  }
  for (let i = 0; i < agents; i++) {
    out.push(`agent "a${i}" {`, `  uses prompt "p${i}"`, '  model "echo"', '  max_turns 3', '}', '');
  }
  out.push(`deploy "local" target "${opts.target ?? 'process'}" {`, `  port ${port}`, '  health {', '    path "/healthz"', '  }', '}', '');
  return out.join('\n');
}

export function makeWorkspace(prefix = 'agentspec-apply-'): Workspace {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  const stateFile = path.join(dir, '.agentspec.state.json');
  const ws: Workspace = {
    dir,
    stateFile,
    cli: (args, opts = {}) =>
      runCli(['--log-format', 'json', '--log-level', 'info', '--state-file', stateFile, ...args], {
        cwd: dir,
        timeoutMs: opts.timeoutMs ?? 300_000,
        env: { ...TEST_ENV, ...opts.env },
      }),
    writeSpec: (name, port, opts = {}) => {
      const file = path.join(dir, opts.file ?? `${name}.ias`);
      writeFileSync(file, specText(name, port, opts));
      return file;
    },
    readState: () => JSON.parse(readFileSync(stateFile, 'utf8')) as State,
    cleanup: async () => {
      await killWorkspaceRuntimes(dir);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return ws;
}

/** Packages that have a snapshot in the workspace (every package apply ever tried to start). */
export function snapshotPackages(dir: string): string[] {
  const snaps = path.join(dir, '.agentspec', 'snapshots');
  if (!existsSync(snaps)) return [];
  return readdirSync(snaps).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5));
}

/** Live runtime processes serving a package of this workspace. */
export function runtimesOf(dir: string, pkg: string): number[] {
  return findRuntimes(snapshotPath(dir, pkg));
}

export async function killWorkspaceRuntimes(dir: string): Promise<void> {
  const pids = snapshotPackages(dir).flatMap((pkg) => runtimesOf(dir, pkg));
  for (const pid of pids) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      try {
        process.kill(pid, 'SIGKILL');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
      }
    }
  }
  const deadline = Date.now() + 5_000;
  while (pids.some(isAliveish) && Date.now() < deadline) await sleep(20);
}

function isAliveish(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z');
  } catch {
    return false;
  }
}

export function logsWith(r: CliResult, msg: string): Array<Record<string, unknown>> {
  return jsonLogLines(r.stderr).filter((l) => l.msg === msg);
}

/** Why a CLI run failed, for assertion messages. */
export function explain(r: CliResult): string {
  return `exit ${String(r.code)} signal ${String(r.signal)}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
}

export interface StartedCli {
  /** Resolves once the command logged that it is waiting for the state lock. */
  waiting: Promise<void>;
  done: Promise<CliResult>;
}

/** Start the CLI in the workspace and watch its JSON logs while it runs. */
export function startCli(ws: Workspace, args: string[]): StartedCli {
  const child = spawn(process.execPath, [CLI, '--log-format', 'json', '--log-level', 'info', '--state-file', ws.stateFile, ...args], {
    cwd: ws.dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1', ...TEST_ENV },
  });
  let stdout = '';
  let stderr = '';
  let onWait: () => void = () => undefined;
  const waiting = new Promise<void>((resolve) => (onWait = resolve));
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    if (stderr.includes('"msg":"lock wait started"')) onWait();
  });
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      onWait();
      resolve({ code, signal, stdout, stderr });
    });
  });
  return { waiting, done };
}
