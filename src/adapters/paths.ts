import path from 'node:path';

/** A package name made safe for a file name (package names may hold characters paths do not like). */
export function fileSafe(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, '_');
}

/** `.agentspec/` beside the state file: logs, IR snapshots and pid files of the runtimes. */
export function workDir(stateDir: string): string {
  return path.resolve(stateDir, '.agentspec');
}

export function logPath(stateDir: string, pkg: string): string {
  return path.join(workDir(stateDir), 'logs', `${fileSafe(pkg)}.log`);
}

export function snapshotPath(stateDir: string, pkg: string): string {
  return path.join(workDir(stateDir), 'snapshots', `${fileSafe(pkg)}.json`);
}

export function pidPath(stateDir: string, pkg: string): string {
  return path.join(workDir(stateDir), 'run', `${fileSafe(pkg)}.pid`);
}
