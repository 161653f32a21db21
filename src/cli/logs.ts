import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { logPath, workDir } from '../adapters/index.ts';
import { AgentspecError, UsageError } from '../errors.ts';
import { packageOf } from '../plan/index.ts';
import { action, globalOptions, io, openStateBackend, type GlobalOptions } from './context.ts';

interface LogsFlags {
  follow?: boolean;
  tail?: string;
}

/** Bytes of `file` from `start` to its current end. */
function readFrom(file: string, start: number, end: number): string {
  if (end <= start) return '';
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(end - start);
    let off = 0;
    while (off < buf.length) {
      const n = readSync(fd, buf, off, buf.length - off, start + off);
      if (n === 0) break;
      off += n;
    }
    return buf.subarray(0, off).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * The last `n` records of a log. A record is a line and the indented lines under it (a stack
 * trace, the fields of a multi-line record), so a tail never starts in the middle of one.
 */
export function lastRecords(text: string, n: number | undefined): string {
  if (n === undefined) return text;
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const records: string[][] = [];
  for (const line of lines) {
    const last = records[records.length - 1];
    if (last !== undefined && /^\s/.test(line) && line.trim() !== '') last.push(line);
    else records.push([line]);
  }
  const kept = n === 0 ? [] : records.slice(-n);
  return kept.length === 0 ? '' : `${kept.flat().join('\n')}\n`;
}

/** Packages whose runtime log is asked for: by agent name, by package name, or all of them. */
async function packagesFor(name: string | undefined, g: GlobalOptions): Promise<string[]> {
  const backend = openStateBackend(g);
  let fqns: string[];
  try {
    fqns = (await backend.load()).entries.map((e) => e.fqn);
  } finally {
    await backend.close?.();
  }
  // Only what is deployed: the log of a package destroyed long ago is history, not output.
  const inState = [...new Set(fqns.map(packageOf))];
  if (name === undefined) return inState.sort();
  const byAgent = [...new Set(fqns.filter((f) => f.endsWith(`/Agent/${name}`)).map(packageOf))];
  if (byAgent.length > 0) return byAgent;
  if (inState.includes(name)) return [name];
  const agents = fqns.filter((f) => f.includes('/Agent/')).map((f) => f.slice(f.lastIndexOf('/') + 1));
  throw new AgentspecError(
    'E_NOT_DEPLOYED',
    `no deployed agent or package named "${name}"${agents.length > 0 ? ` (deployed agents: ${[...new Set(agents)].sort().join(', ')})` : ''}`,
  );
}

export function register(program: Command): void {
  program
    .command('logs')
    .description("print the runtime's log (of the package serving AGENT, or of every deployed package; packages no longer deployed are left out)")
    .argument('[agent]', 'agent (or package) name')
    .option('-f, --follow', 'keep printing new lines until interrupted')
    .option('-n, --tail <n>', 'only the last N records (a record and its indented continuation lines)')
    .action(
      action(async (agent: string | undefined, flags: LogsFlags, cmd: Command) => {
        const g = globalOptions(cmd);
        let tail: number | undefined;
        if (flags.tail !== undefined) {
          tail = Number(flags.tail);
          if (!Number.isInteger(tail) || tail < 0) throw new UsageError(`--tail: expected a number of records, got "${flags.tail}"`);
        }
        const stateDir = path.dirname(path.resolve(g.stateFile));
        const packages = await packagesFor(agent, g);
        const files = packages.map((p) => ({ pkg: p, file: logPath(stateDir, p) })).filter((f) => existsSync(f.file));
        if (files.length === 0) {
          io.err(`No runtime logs yet${agent === undefined ? '' : ` for "${agent}"`} (looked in ${path.join(workDir(stateDir), 'logs')}).\n`);
          return agent === undefined ? 0 : 1;
        }
        const header = files.length > 1;
        const offsets = new Map<string, number>();
        for (const { pkg, file } of files) {
          const size = statSync(file).size;
          if (header) io.out(`==> ${pkg} <==\n`);
          io.out(lastRecords(readFrom(file, 0, size), tail));
          offsets.set(file, size);
        }
        if (flags.follow !== true) return 0;

        let stop = false;
        const onSignal = (): void => {
          stop = true;
        };
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
        try {
          let last = '';
          while (!stop) {
            for (const { pkg, file } of files) {
              const size = existsSync(file) ? statSync(file).size : 0;
              const from = offsets.get(file) ?? 0;
              // A log that shrank was truncated or replaced: start again from its beginning.
              const start = size < from ? 0 : from;
              const text = readFrom(file, start, size);
              offsets.set(file, size);
              if (text === '') continue;
              if (header && last !== pkg) io.out(`==> ${pkg} <==\n`);
              last = pkg;
              io.out(text);
            }
            await sleep(200);
          }
        } finally {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
        }
        return 0;
      }),
    );
}
