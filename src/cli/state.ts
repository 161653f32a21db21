import type { Command } from 'commander';
import { AgentspecError } from '../errors.ts';

// Placeholder until the 'state' command lands; replaced by its real implementation.
export function register(program: Command): void {
  program.command('state').description('(state: not built yet)').allowUnknownOption().allowExcessArguments().action(() => {
    throw new AgentspecError('E_NOT_BUILT', 'state is not built yet');
  });
}
