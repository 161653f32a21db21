import type { Command } from 'commander';
import { AgentspecError } from '../errors.ts';

// Placeholder until the 'init' command lands; replaced by its real implementation.
export function register(program: Command): void {
  program.command('init').description('(init: not built yet)').allowUnknownOption().allowExcessArguments().action(() => {
    throw new AgentspecError('E_NOT_BUILT', 'init is not built yet');
  });
}
