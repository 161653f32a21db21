/**
 * The guard every stdio MCP server runs under. The runtime spawns `node -e GUARD -- cmd args...`
 * detached, so the guard leads a new process group (and session: terminal signals are the
 * runtime's to handle). The guard starts the server in that group with the runtime's stdio pipes
 * passed straight through (no relay, no extra hop per message) and holds one more pipe, its
 * lifeline (fd 3), whose other end only the runtime has. When the runtime dies for any reason,
 * SIGKILL included, the kernel closes that end: the guard sees end-of-file and kills the whole
 * group, grandchildren of wrapper commands like `npx` included. On a normal stop the runtime
 * signals the group itself.
 *
 * The guard is plain JavaScript kept in a string so it runs on bare `node` (fast start, no loader)
 * and travels with this module wherever it is built to.
 */
export const GUARD_SOURCE = String.raw`
'use strict';
const { spawn } = require('node:child_process');
const net = require('node:net');
const [cmd, ...args] = process.argv.slice(1);
const GRACE_MS = Number(process.env.AGENTSPEC_MCP_GUARD_GRACE_MS || 1000);
delete process.env.AGENTSPEC_MCP_GUARD_GRACE_MS;
function killGroup(signal) {
  try { process.kill(-process.pid, signal); } catch (err) { if (err.code !== 'ESRCH') process.stderr.write('guard: kill failed: ' + err.message + '\n'); }
}
// The runtime stops the group with SIGTERM: the server gets it too; the guard stays to report
// the server's exit status (the runtime sends SIGKILL to the group if the server lingers).
process.on('SIGTERM', () => {});
let orphanedOnce = false;
function orphaned() {
  if (orphanedOnce) return;
  orphanedOnce = true;
  killGroup('SIGTERM');
  setTimeout(() => killGroup('SIGKILL'), GRACE_MS).unref();
}
const lifeline = new net.Socket({ fd: 3, readable: true, writable: true });
lifeline.on('end', orphaned);
lifeline.on('error', orphaned);
lifeline.on('data', () => {});
const child = spawn(cmd, args, { stdio: ['inherit', 'inherit', 'inherit'] });
child.on('error', (err) => {
  process.stderr.write('cannot start ' + JSON.stringify(cmd) + ': ' + err.message + '\n');
  process.exit(127);
});
child.on('spawn', () => { lifeline.write(JSON.stringify({ pid: child.pid }) + '\n'); });
child.on('exit', (code, signal) => {
  // Orphaned: nobody reads the status; take along whatever the server left in the group.
  if (orphanedOnce) killGroup('SIGKILL');
  process.exit(code === null ? 128 + (require('node:os').constants.signals[signal] || 0) : code);
});
`;

/** argv for `node` to run `command args...` under the guard. */
export function guardArgv(command: string, args: readonly string[]): string[] {
  return ['-e', GUARD_SOURCE, '--', command, ...args];
}
