import type { Command } from 'commander';
import { AgentspecError } from '../errors.ts';

// Placeholder until the 'run' command lands; replaced by its real implementation.
export function register(program: Command): void {
  program.command('run').description('(run: not built yet)').allowUnknownOption().allowExcessArguments().action(() => {
    throw new AgentspecError('E_NOT_BUILT', 'run is not built yet');
  });
}
