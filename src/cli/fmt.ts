import { randomBytes } from 'node:crypto';
import { constants as C } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { AgentspecError, ExitCode, UsageError, errorMessage } from '../errors.ts';
import { format, formatDiagnostics, listSpecFiles, parse } from '../lang/index.ts';
import { logger } from '../log.ts';
import { action, globalOptions, io } from './context.ts';

export interface FmtOptions {
  check: boolean;
  write: boolean;
  color: boolean;
}

/** A file could not be read, listed or rewritten; the message names it. */
export class FmtFileError extends AgentspecError {
  readonly path: string;

  constructor(file: string, message: string, cause?: unknown) {
    super('E_FMT_FILE', `${file}: ${message}`, { cause });
    this.path = file;
  }
}

/** Directory arguments stand for the `*.ias` files under them, recursively, as `validate` reads them. */
async function expand(arg: string): Promise<string[]> {
  let st;
  try {
    st = await fs.stat(arg);
  } catch (err) {
    throw new FmtFileError(arg, `cannot read: ${errorMessage(err)}`, err);
  }
  if (!st.isDirectory()) {
    if (!arg.endsWith('.ias')) throw new FmtFileError(arg, 'not an IntentLang file (expected a .ias file or a directory)');
    return [arg];
  }
  let files: string[];
  try {
    files = await listSpecFiles(arg);
  } catch (err) {
    throw new FmtFileError(arg, `cannot list: ${errorMessage(err)}`, err);
  }
  // A directory with nothing to format is a mistake (a wrong path), not a pass.
  if (files.length === 0) throw new FmtFileError(arg, 'no .ias files in this directory or below it');
  return files;
}

/**
 * Replace the file at `link` with `text` without ever leaving it half written: a temp file in the same
 * directory (same mode as the original) is written and fsynced, then renamed over the file.
 */
export async function rewriteAtomically(link: string, text: string): Promise<void> {
  // Rewrite the file a symlink points to, not the link itself (a rename would replace the link),
  // but only inside the directory the link was found in: a link planted in a checkout must not
  // make `fmt --write` rewrite ~/.bashrc or anything else outside it.
  const file = await fs.realpath(link);
  const root = await fs.realpath(path.dirname(link));
  const rel = path.relative(root, file);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) {
    throw new FmtFileError(link, `is a symlink to ${file}, outside ${root}; refusing to rewrite it (format the target itself)`);
  }
  const st = await fs.stat(file);
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(8).toString('hex')}.tmp`);
  const h = await fs.open(tmp, C.O_WRONLY | C.O_CREAT | C.O_EXCL, st.mode & 0o7777);
  try {
    try {
      await h.writeFile(text, 'utf8');
      // The umask may have narrowed the mode given to open; set it exactly.
      await h.chmod(st.mode & 0o7777);
      await h.sync();
    } finally {
      await h.close();
    }
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true }).catch((rmErr: unknown) => {
      logger('fmt').warn({ path: tmp, err: rmErr }, 'could not remove temp file');
    });
    throw err;
  }
  const dir = await fs.open(path.dirname(file), C.O_RDONLY | C.O_DIRECTORY);
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

/** Format every file named (directories expand to the `*.ias` files under them). Returns the exit code. */
export async function runFmt(args: readonly string[], opts: FmtOptions): Promise<number> {
  if (opts.check && opts.write) throw new UsageError('--check and --write cannot be used together (--check never writes)');
  let failed = false;
  const files: string[] = [];
  for (const arg of args) {
    try {
      files.push(...(await expand(arg)));
    } catch (err) {
      if (!(err instanceof FmtFileError)) throw err;
      io.err(`Error: ${err.message}\n`);
      failed = true;
    }
  }
  const notCanonical: string[] = [];
  for (const file of files) {
    let source: string;
    try {
      source = await fs.readFile(file, 'utf8');
    } catch (err) {
      io.err(`Error: ${file}: cannot read: ${errorMessage(err)}\n`);
      failed = true;
      continue;
    }
    const parsed = parse(source, file);
    if (parsed.diagnostics.length > 0) {
      io.err(formatDiagnostics(parsed.diagnostics, { color: opts.color, source: opts.color ? () => source : undefined }));
      failed = true;
      continue;
    }
    const text = format(parsed.file);
    if (opts.check) {
      if (text !== source) notCanonical.push(file);
    } else if (opts.write) {
      if (text === source) continue;
      try {
        await rewriteAtomically(file, text);
      } catch (err) {
        logger('fmt').error({ path: file, err }, 'rewrite failed');
        io.err(`Error: ${file}: cannot rewrite: ${errorMessage(err)} (the file was left as it was)\n`);
        failed = true;
        continue;
      }
      io.out(`${file}\n`);
    } else {
      io.out(text);
    }
  }
  if (notCanonical.length > 0) {
    io.err(`${notCanonical.length === 1 ? 'This file is' : 'These files are'} not formatted (run agentspec fmt --write):\n`);
    for (const f of notCanonical) io.err(`${f}\n`);
  }
  return failed || notCanonical.length > 0 ? ExitCode.failure : ExitCode.ok;
}

export function register(program: Command): void {
  program
    .command('fmt')
    .description('print IntentLang files in canonical form, comments kept (--write rewrites them, --check verifies)')
    .argument('<paths...>', '.ias files or directories (the *.ias files under them, recursively)')
    .option('--check', 'write nothing; list files that are not canonical and exit 1 if any')
    .option('--write', 'rewrite files that change, in place, and list them')
    .action(
      action(async (paths: string[], opts: { check?: boolean; write?: boolean }, cmd: Command) => {
        const g = globalOptions(cmd);
        return runFmt(paths, {
          check: opts.check === true,
          write: opts.write === true,
          color: g.color && process.stderr.isTTY === true,
        });
      }),
    );
}
