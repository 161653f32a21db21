import { spawnSync } from 'node:child_process';
import { logger } from '../log.ts';
import { SandboxUnavailableError } from './errors.ts';
import { findOnPath } from './path.ts';

export type SandboxMode = 'auto' | 'required' | 'off';
export const SANDBOX_MODES: readonly SandboxMode[] = ['auto', 'required', 'off'];

/** How command and inline tools are isolated: inside bubblewrap, or (mode off / not available) not at all. */
export interface Sandbox {
  readonly active: boolean;
  /** Why it is not active (for the start-up log), when it is not. */
  readonly reason?: string;
  /** argv that runs `argv` isolated, with `workdir` the only writable place. */
  wrap(argv: string[], workdir: string): string[];
}

const BASE_FLAGS = ['--unshare-all', '--die-with-parent', '--new-session', '--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--tmpfs', '/tmp'];

/** No network (own net namespace), read-only root, private /tmp, own pid namespace; only workdir writable. */
export function bwrapArgv(bwrap: string, argv: string[], workdir: string): string[] {
  return [bwrap, ...BASE_FLAGS, '--bind', workdir, workdir, '--chdir', workdir, '--', ...argv];
}

/** Whether bwrap can create its namespaces here (a container may forbid it): run it once. */
export function probeBwrap(bwrap: string): string | undefined {
  const r = spawnSync(bwrap, [...BASE_FLAGS, '--', '/bin/true'], { timeout: 10_000, encoding: 'utf8' });
  if (r.error !== undefined) return `${bwrap} could not be run: ${r.error.message}`;
  if (r.status !== 0) return `${bwrap} fails here (exit ${String(r.status ?? r.signal)}): ${(r.stderr ?? '').trim() || 'no message'}`;
  return undefined;
}

export function createSandbox(mode: SandboxMode, env: NodeJS.ProcessEnv): Sandbox {
  const none = (reason: string): Sandbox => ({ active: false, reason, wrap: (argv) => argv });
  if (mode === 'off') return none('--tool-sandbox off');
  const bwrap = findOnPath('bwrap', env.PATH);
  const problem = bwrap === undefined ? 'bwrap is not installed (not on PATH)' : probeBwrap(bwrap);
  if (problem !== undefined || bwrap === undefined) {
    const reason = problem ?? 'bwrap is not installed';
    if (mode === 'required') throw new SandboxUnavailableError(reason);
    logger('tools').debug({ reason }, 'bubblewrap unavailable');
    return none(reason);
  }
  return { active: true, wrap: (argv, workdir) => bwrapArgv(bwrap, argv, workdir) };
}
