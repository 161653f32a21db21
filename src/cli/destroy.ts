import type { Command } from 'commander';
import { AgentspecError } from '../errors.ts';

// Placeholder until the 'destroy' command lands; replaced by its real implementation.
export function register(program: Command): void {
  program.command('destroy').description('(destroy: not built yet)').allowUnknownOption().allowExcessArguments().action(() => {
    throw new AgentspecError('E_NOT_BUILT', 'destroy is not built yet');
  });
}
