import type { Command } from 'commander';
import { AgentspecError } from '../errors.ts';

// Placeholder until the 'ir' command lands; replaced by its real implementation.
export function register(program: Command): void {
  program.command('ir').description('(ir: not built yet)').allowUnknownOption().allowExcessArguments().action(() => {
    throw new AgentspecError('E_NOT_BUILT', 'ir is not built yet');
  });
}
