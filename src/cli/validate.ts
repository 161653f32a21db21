import type { Command } from 'commander';
import { AgentspecError } from '../errors.ts';

// Placeholder until the 'validate' command lands; replaced by its real implementation.
export function register(program: Command): void {
  program.command('validate').description('(validate: not built yet)').allowUnknownOption().allowExcessArguments().action(() => {
    throw new AgentspecError('E_NOT_BUILT', 'validate is not built yet');
  });
}
