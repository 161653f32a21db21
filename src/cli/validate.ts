import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { ExitCode } from '../errors.ts';
import { checkSpec } from '../ir/compile.ts';
import { diagnosticsToJson, formatDiagnostics, type Diagnostic } from '../lang/diagnostics.ts';
import { logger } from '../log.ts';
import { action, globalOptions, io } from './context.ts';

function readSource(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    // The caret line is decoration: a file that vanished since it was read only loses that.
    logger('validate').debug({ file, err }, 'cannot read source to show under a diagnostic');
    return undefined;
  }
}

/**
 * Print diagnostics to stderr: `FILE:LINE:COL: error: MESSAGE` (+ hint) lines, with the source
 * line and a caret only on a terminal; or a 2-space JSON array for `--format json`.
 */
export function printDiagnostics(
  cmd: Command,
  diags: readonly Diagnostic[],
  format: 'text' | 'json' = 'text',
  sources?: ReadonlyMap<string, string>,
): void {
  if (format === 'json') {
    io.err(JSON.stringify(diagnosticsToJson(diags), null, 2) + '\n');
    return;
  }
  const tty = process.stderr.isTTY === true;
  const color = tty && globalOptions(cmd).color && process.env.NO_COLOR === undefined;
  const source = (file: string): string | undefined => sources?.get(file) ?? readSource(file);
  io.err(formatDiagnostics(diags, tty ? { color, source } : { color }));
}

export function register(program: Command): void {
  program
    .command('validate')
    .description('check .ias files: syntax, required attributes, references, environments, policies, models and deploy targets')
    .argument('<paths...>', '.ias files or directories (a directory means the *.ias files under it, recursively)')
    .addOption(new Option('--format <format>', 'diagnostics format on stderr').choices(['text', 'json']).default('text'))
    .action(
      action(async (paths: string[], opts: { format: 'text' | 'json' }, cmd: Command) => {
        const checked = await checkSpec(paths, { deploy: {} });
        // Warnings print with the errors but never fail the run: what they name may exist where the spec runs.
        if (checked.diagnostics.length > 0 || checked.warnings.length > 0) {
          printDiagnostics(cmd, [...checked.diagnostics, ...checked.warnings], opts.format, checked.sources);
        }
        if (checked.diagnostics.length > 0) return ExitCode.failure;
        io.out(`✓ ${checked.files.length} file(s) valid\n`);
        return ExitCode.ok;
      }),
    );
}
