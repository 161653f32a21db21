import type { Command } from 'commander';
import { AgentspecError } from '../errors.ts';

// Placeholder until the 'status' command lands; replaced by its real implementation.
export function register(program: Command): void {
  program.command('status').description('(status: not built yet)').allowUnknownOption().allowExcessArguments().action(() => {
    throw new AgentspecError('E_NOT_BUILT', 'status is not built yet');
  });
}
