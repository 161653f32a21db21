import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { AgentspecError, ExitCode, errorMessage } from '../errors.ts';
import { LocalBackend, PostgresBackend, parseState, serializeState, type Backend, type LockInfo, type State, type StateEntry } from '../state/index.ts';
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

/** `state recover` refuses to replace a state that is fine without --force. */
export class StateValidError extends AgentspecError {
  readonly location: string;

  constructor(location: string, state: State) {
    super(
      'E_STATE_VALID',
      `The state ${location} is valid (serial ${state.serial}, ${state.entries.length} entries); recovering would replace it with its backup ` +
        'and lose the changes shown above. Pass --force to recover anyway.',
      { exitCode: ExitCode.failure },
    );
    this.location = location;
  }
}

type FileRead = { kind: 'valid'; state: State; text: string } | { kind: 'missing' } | { kind: 'unreadable'; text: string; reason: string };

async function readStateFileOf(file: string): Promise<FileRead> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
    throw new AgentspecError('E_STATE_READ', `cannot read ${file}: ${errorMessage(err)}`, { cause: err });
  }
  try {
    return { kind: 'valid', state: parseState(text).state, text };
  } catch (err) {
    return { kind: 'unreadable', text, reason: errorMessage(err) };
  }
}

function sameFile(a: FileRead, b: FileRead): boolean {
  if (a.kind === 'missing' || b.kind === 'missing') return a.kind === b.kind;
  return a.text === b.text;
}

/** Entry by entry, what the state becomes if the backup replaces it. */
function recoverDiff(current: FileRead, backup: State): string {
  const head =
    current.kind === 'valid'
      ? `Recovering replaces the state (serial ${current.state.serial}) with its backup (serial ${backup.serial}):`
      : `The state is ${current.kind === 'missing' ? 'missing' : `unreadable (${current.reason})`}; its backup (serial ${backup.serial}) has:`;
  const now = new Map((current.kind === 'valid' ? current.state.entries : []).map((e) => [e.fqn, e]));
  const then = new Map(backup.entries.map((e) => [e.fqn, e]));
  const lines: string[] = [head];
  for (const fqn of [...new Set([...now.keys(), ...then.keys()])].sort()) {
    const a = now.get(fqn);
    const b = then.get(fqn);
    if (a === undefined) lines.push(`  + ${fqn} (${b!.status})`);
    else if (b === undefined) lines.push(`  - ${fqn} (${a.status}; no longer recorded)`);
    else if (a.hash !== b.hash || a.status !== b.status || a.runtime?.pid !== b.runtime?.pid) {
      lines.push(`  ~ ${fqn} (${a.status} -> ${b.status}${a.hash === b.hash ? '' : ', other content hash'}${a.runtime?.pid === b.runtime?.pid ? '' : `, pid ${a.runtime?.pid ?? '-'} -> ${b.runtime?.pid ?? '-'}`})`);
    }
  }
  if (lines.length === 1) lines.push('  (the same entries)');
  return lines.join('\n');
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

  state.command('list').description('list the resources recorded in the state')
    .option('--json', 'print the entries as JSON')
    .action(
      action(async (opts: { json?: boolean }, cmd: Command) => {
        const s = await backendFor(cmd).load();
        if (opts.json === true) io.out(`${JSON.stringify(s.entries, null, 2)}\n`);
        else if (s.entries.length === 0) io.out('No resources in the state.\n');
        else io.out(entryTable(s.entries));
        return ExitCode.ok;
      }),
    );

  state.command('show').description('print one state entry as JSON').argument('<fqn>', 'the resource FQN (see `state list`)')
    .action(
      action(async (fqn: string, _opts: unknown, cmd: Command) => {
        const s = await backendFor(cmd).load();
        const entry = s.entries.find((e) => e.fqn === fqn);
        if (entry === undefined) {
          throw new AgentspecError('E_STATE_NO_ENTRY', `No resource ${fqn} in the state; \`agentspec state list\` shows what is recorded.`);
        }
        io.out(`${JSON.stringify(entry, null, 2)}\n`);
        return ExitCode.ok;
      }),
    );

  state.command('lock-info').description('print who holds the state lock')
    .option('--json', 'print the lock info as JSON (null when not locked)')
    .action(
      action(async (opts: { json?: boolean }, cmd: Command) => {
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

  state.command('unlock').description('remove a lock by id, like terraform force-unlock').argument('<lock-id>', 'the id shown by `state lock-info` or in a lock timeout error')
    .option('--force', 'remove the lock even though its holder is alive (the holder then fails its next save and writes nothing)')
    .option('--auto-approve', 'do not ask for confirmation')
    .action(
      action(async (id: string, opts: { force?: boolean; autoApprove?: boolean }, cmd: Command) => {
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

  withLockTimeout(state.command('recover').description('replace the state with its backup (under the lock); shows what changes first'))
    .option('--force', 'recover even though the current state is valid (its changes since the backup are lost)')
    .option('--auto-approve', 'do not ask for confirmation')
    .action(
      action(async (opts: LockFlags & { force?: boolean; autoApprove?: boolean }, cmd: Command) => {
        const timeoutMs = lockTimeoutMs(opts);
        const b = backendFor(cmd);
        if (b.recover === undefined) throw new AgentspecError('E_STATE_NO_BACKUP', `The state backend at ${b.location} keeps no backup to recover from.`);
        // What recovering would change, shown before anything is asked or written.
        const before = b instanceof LocalBackend ? await readStateFileOf(b.path) : undefined;
        const backup = b instanceof LocalBackend ? await readStateFileOf(b.backupPath) : undefined;
        if (before !== undefined && backup?.kind === 'valid') {
          io.out(`${recoverDiff(before, backup.state)}\n`);
          if (before.kind === 'valid' && opts.force !== true) throw new StateValidError(b.location, before.state);
        }
        // The prompt holds no lock; the state is checked again once the lock is held.
        const ok = await confirmWith(opts, 'state recover', `Replace the state ${b.location} with its backup? The current state file is overwritten.`);
        if (!ok) {
          io.err('Cancelled; nothing was changed.\n');
          return ExitCode.failure;
        }
        await b.lock({ operation: 'state recover', timeoutMs });
        try {
          if (b instanceof LocalBackend && before !== undefined && !sameFile(before, await readStateFileOf(b.path))) {
            throw new AgentspecError('E_STATE_CHANGED', `The state ${b.location} changed since the diff above was shown; nothing was changed. Run \`agentspec state recover\` again.`);
          }
          const s = await b.recover();
          io.out(`Restored ${b.location} from its backup (serial ${s.serial}, ${s.entries.length} entries).\n`);
        } finally {
          await b.unlock();
        }
        return ExitCode.ok;
      }),
    );

  state.command('pull').description('print the state as JSON')
    .action(
      action(async (_opts: unknown, cmd: Command) => {
        io.out(serializeState(await backendFor(cmd).load()));
        return ExitCode.ok;
      }),
    );
}
