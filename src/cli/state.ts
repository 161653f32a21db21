import type { Command } from 'commander';
import { AgentspecError, ExitCode } from '../errors.ts';
import { LocalBackend, PostgresBackend, serializeState, type Backend, type LockInfo, type StateEntry } from '../state/index.ts';
import { confirmOnTerminal } from './confirm.ts';
import { action, globalOptions, io, openStateBackend, parseDuration } from './context.ts';

interface LockFlags {
  lockTimeout?: string;
}

function backendFor(cmd: Command): Backend {
  return openStateBackend(globalOptions(cmd));
}

/** Ask before a destructive step, unless --auto-approve said yes up front. */
async function confirmWith(opts: { autoApprove?: boolean }, command: string, question: string): Promise<boolean> {
  if (opts.autoApprove === true) return true;
  return confirmOnTerminal(command, `${question}\nType "yes" to continue: `, { advice: 'pass --auto-approve to proceed without a prompt' });
}

function lockTimeoutMs(flags: LockFlags): number {
  return flags.lockTimeout === undefined ? 30_000 : parseDuration('--lock-timeout', flags.lockTimeout);
}

function withLockTimeout(cmd: Command): Command {
  return cmd
    .option('--lock-timeout <duration>', 'how long to wait for the state lock (e.g. 30s, 5m; 0 fails at once)', '30s');
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

function entryTable(entries: StateEntry[]): string {
  const head = ['FQN', 'STATUS', 'ADAPTER', 'LAST APPLIED'];
  const rows = entries.map((e) => [e.fqn, e.status, e.adapter, e.last_applied]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [head, ...rows].map((r) => r.map((c, i) => (i === r.length - 1 ? c : pad(c, widths[i]!))).join('  ')).join('\n') + '\n';
}

function describeLock(info: LockInfo): string {
  if (info.original === true) {
    return (
      `Lock ID:    ${info.id} (made up: the original agentspec writes no lock id)\n` +
      `Holder:     pid ${info.pid} on ${info.hostname} (the original agentspec)\n` +
      `Since:      ${info.created}\n`
    );
  }
  return (
    `Lock ID:    ${info.id}\n` +
    `Holder:     pid ${info.pid} on ${info.hostname}\n` +
    `Operation:  ${info.operation}\n` +
    `Who:        ${info.who}\n` +
    `Since:      ${info.created}\n` +
    `Heartbeat:  ${info.heartbeat}\n` +
    `Version:    ${info.version}\n`
  );
}

async function lockStatusOf(b: Backend): Promise<{ info: LockInfo | null; held: boolean } | null> {
  if (b instanceof LocalBackend || b instanceof PostgresBackend) return b.lockStatus();
  const info = await b.lockInfo();
  return info === null ? null : { info, held: true };
}

export function register(program: Command): void {
  const state = program.command('state').description('inspect the state, its lock and its backup; recover by hand');

  withLockTimeout(state.command('list').description('list the resources recorded in the state'))
    .option('--json', 'print the entries as JSON')
    .action(
      action(async (opts: LockFlags & { json?: boolean }, cmd: Command) => {
        lockTimeoutMs(opts);
        const s = await backendFor(cmd).load();
        if (opts.json === true) io.out(`${JSON.stringify(s.entries, null, 2)}\n`);
        else if (s.entries.length === 0) io.out('No resources in the state.\n');
        else io.out(entryTable(s.entries));
        return ExitCode.ok;
      }),
    );

  withLockTimeout(state.command('show').description('print one state entry as JSON').argument('<fqn>', 'the resource FQN (see `state list`)'))
    .action(
      action(async (fqn: string, opts: LockFlags, cmd: Command) => {
        lockTimeoutMs(opts);
        const s = await backendFor(cmd).load();
        const entry = s.entries.find((e) => e.fqn === fqn);
        if (entry === undefined) {
          throw new AgentspecError('E_STATE_NO_ENTRY', `No resource ${fqn} in the state; \`agentspec state list\` shows what is recorded.`);
        }
        io.out(`${JSON.stringify(entry, null, 2)}\n`);
        return ExitCode.ok;
      }),
    );

  withLockTimeout(state.command('lock-info').description('print who holds the state lock'))
    .option('--json', 'print the lock info as JSON (null when not locked)')
    .action(
      action(async (opts: LockFlags & { json?: boolean }, cmd: Command) => {
        lockTimeoutMs(opts);
        const status = await lockStatusOf(backendFor(cmd));
        const live = status?.held === true ? status.info : null;
        if (opts.json === true) {
          io.out(`${JSON.stringify(live, null, 2)}\n`);
          return ExitCode.ok;
        }
        if (status === null || !status.held) {
          io.out('not locked\n');
          if (status?.info != null) {
            io.err(`A lock file from pid ${status.info.pid} on ${status.info.hostname} (lock id ${status.info.id}) is left behind; its holder is gone and the next command takes it over.\n`);
          }
          return ExitCode.ok;
        }
        io.out(status.info === null ? 'locked (the holder has not written its lock info yet)\n' : describeLock(status.info));
        return ExitCode.ok;
      }),
    );

  withLockTimeout(state.command('unlock').description('remove a lock by id, like terraform force-unlock').argument('<lock-id>', 'the id shown by `state lock-info` or in a lock timeout error'))
    .option('--force', 'remove the lock even though its holder is alive (the holder then fails its next save and writes nothing)')
    .option('--auto-approve', 'do not ask for confirmation')
    .action(
      action(async (id: string, opts: LockFlags & { force?: boolean; autoApprove?: boolean }, cmd: Command) => {
        lockTimeoutMs(opts);
        const b = backendFor(cmd);
        const status = await lockStatusOf(b);
        if (status === null) throw new AgentspecError('E_STATE_UNLOCK', `Not locked: there is no lock file for ${b.location}.`);
        if (status.info?.id !== id) {
          throw new AgentspecError(
            'E_STATE_UNLOCK',
            `Lock id ${id} is not the current lock of ${b.location}` + (status.info === null ? '.' : ` (that is ${status.info.id}).`) + ' Check `agentspec state lock-info`.',
          );
        }
        if (status.held && opts.force !== true) {
          throw new AgentspecError(
            'E_STATE_UNLOCK',
            `Lock ${id} is held by a live process (pid ${status.info.pid} on ${status.info.hostname}, operation "${status.info.operation}"). ` +
              'Wait for it to finish, or pass --force to break it (that holder then fails its next save and writes nothing).',
          );
        }
        const ok = await confirmWith(
          opts,
          'state unlock',
          `Remove lock ${id} of ${b.location}, held by pid ${status.info.pid} on ${status.info.hostname} (${status.held ? 'ALIVE' : 'no longer running'})?`,
        );
        if (!ok) {
          io.err('Cancelled; the lock was left in place.\n');
          return ExitCode.failure;
        }
        await b.forceUnlock(id, { force: opts.force === true });
        io.out(`Lock ${id} removed.\n`);
        return ExitCode.ok;
      }),
    );

  withLockTimeout(state.command('recover').description('replace the state with its backup (under the lock)'))
    .option('--auto-approve', 'do not ask for confirmation')
    .action(
      action(async (opts: LockFlags & { autoApprove?: boolean }, cmd: Command) => {
        const timeoutMs = lockTimeoutMs(opts);
        const b = backendFor(cmd);
        if (b.recover === undefined) throw new AgentspecError('E_STATE_NO_BACKUP', `The state backend at ${b.location} keeps no backup to recover from.`);
        const ok = await confirmWith(opts, 'state recover', `Replace the state ${b.location} with its backup? The current state file is overwritten.`);
        if (!ok) {
          io.err('Cancelled; nothing was changed.\n');
          return ExitCode.failure;
        }
        await b.lock({ operation: 'state recover', timeoutMs });
        try {
          const s = await b.recover();
          io.out(`Restored ${b.location} from its backup (serial ${s.serial}, ${s.entries.length} entries).\n`);
        } finally {
          await b.unlock();
        }
        return ExitCode.ok;
      }),
    );

  withLockTimeout(state.command('pull').description('print the state as JSON'))
    .action(
      action(async (opts: LockFlags, cmd: Command) => {
        lockTimeoutMs(opts);
        io.out(serializeState(await backendFor(cmd).load()));
        return ExitCode.ok;
      }),
    );
}
