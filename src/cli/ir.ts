import type { Command } from 'commander';
import { ExitCode } from '../errors.ts';
import { compileSpec } from '../ir/compile.ts';
import { action, io } from './context.ts';
import { printDiagnostics } from './validate.ts';

export function register(program: Command): void {
  program
    .command('ir')
    .description('print the lowered IR (resources with FQN and content hash) as JSON')
    .argument('<paths...>', '.ias files or directories (a directory means its *.ias files, not recursive)')
    .option('--env <name>', 'apply the overrides of this environment')
    .action(
      action(async (paths: string[], opts: { env?: string }, cmd: Command) => {
        const compiled = await compileSpec(paths, opts.env === undefined ? {} : { env: opts.env });
        if (compiled.diagnostics.length > 0) {
          printDiagnostics(cmd, compiled.diagnostics, 'text', compiled.sources);
          return ExitCode.failure;
        }
        const out = compiled.documents.length === 1 ? compiled.documents[0] : compiled.documents;
        io.out(JSON.stringify(out, null, 2) + '\n');
        return ExitCode.ok;
      }),
    );
}
