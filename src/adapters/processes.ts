import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { errorMessage } from '../errors.ts';
import { logger } from '../log.ts';

const HAVE_PROC = existsSync('/proc/self/cmdline');

function errnoOf(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

/** True when a process with this pid exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if (errnoOf(err) === 'EPERM') return true;
    return false;
  }
  if (!HAVE_PROC) return true;
  try {
    // Field 3 of /proc/<pid>/stat is the state; the command name before it may hold spaces.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch (err) {
    logger('adapters').debug({ target_pid: pid, err: errorMessage(err) }, 'process vanished while reading its stat');
    return false;
  }
}

/** The argument vector of a process, or undefined when it is gone or unreadable. */
export function commandLine(pid: number): string[] | undefined {
  try {
    if (HAVE_PROC) {
      const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (raw === '') return undefined;
      return raw.replace(/\0$/, '').split('\0');
    }
    const out = execFileSync('ps', ['-p', String(pid), '-o', 'command='], { encoding: 'utf8' }).trim();
    return out === '' ? undefined : out.split(/\s+/);
  } catch (err) {
    logger('adapters').debug({ target_pid: pid, err: errorMessage(err) }, 'could not read the command line of a process');
    return undefined;
  }
}

/** Is `argv` an `agentspec run --ir <snapshot>` serving exactly this snapshot? */
export function isRuntimeCommand(argv: readonly string[], snapshot: string): boolean {
  const i = argv.indexOf('--ir');
  return i > 0 && argv[i + 1] === snapshot && argv.includes('run');
}

/** The process is alive and is the runtime of this snapshot (guards against a reused pid). */
export function isRuntimeOf(pid: number, snapshot: string): boolean {
  if (!isAlive(pid)) return false;
  const argv = commandLine(pid);
  return argv !== undefined && isRuntimeCommand(argv, snapshot);
}

/** Every live process serving this snapshot, found in the process table. */
export function findRuntimes(snapshot: string): number[] {
  const pids: number[] = [];
  if (HAVE_PROC) {
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      const pid = Number(name);
      if (pid === process.pid) continue;
      const argv = commandLine(pid);
      if (argv !== undefined && isRuntimeCommand(argv, snapshot) && isAlive(pid)) pids.push(pid);
    }
    return pids;
  }
  const out = execFileSync('ps', ['-axo', 'pid=,command='], { encoding: 'utf8' });
  for (const line of out.split('\n')) {
    const m = /^\s*(\d+)\s+(.*)$/.exec(line);
    if (m === null) continue;
    const pid = Number(m[1]);
    if (pid !== process.pid && isRuntimeCommand((m[2] ?? '').split(/\s+/), snapshot)) pids.push(pid);
  }
  return pids;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    // The runtime is started detached, so it leads its own process group: signal the group so
    // anything it started goes too.
    process.kill(-pid, sig);
  } catch (err) {
    if (errnoOf(err) !== 'ESRCH') throw err;
    try {
      process.kill(pid, sig);
    } catch (inner) {
      if (errnoOf(inner) !== 'ESRCH') throw inner;
    }
  }
}

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  let delay = 5;
  while (isAlive(pid)) {
    if (Date.now() >= deadline) return false;
    await sleep(delay);
    delay = Math.min(delay * 2, 50);
  }
  return true;
}

/**
 * SIGTERM, then SIGKILL after `graceMs`. Resolves 'term' or 'kill' (how it ended), or 'gone'
 * when it was not running.
 */
export async function terminate(pid: number, graceMs: number): Promise<'term' | 'kill' | 'gone'> {
  if (!isAlive(pid)) return 'gone';
  signal(pid, 'SIGTERM');
  if (await waitGone(pid, graceMs)) return 'term';
  signal(pid, 'SIGKILL');
  if (await waitGone(pid, 5_000)) return 'kill';
  throw new Error(`process ${pid} did not exit after SIGKILL`);
}
