import type { Command } from 'commander';
import { AgentspecError } from '../errors.ts';

// Placeholder until the 'fmt' command lands; replaced by its real implementation.
export function register(program: Command): void {
  program.command('fmt').description('(fmt: not built yet)').allowUnknownOption().allowExcessArguments().action(() => {
    throw new AgentspecError('E_NOT_BUILT', 'fmt is not built yet');
  });
}
