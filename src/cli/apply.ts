import type { Command } from 'commander';
import { AgentspecError } from '../errors.ts';

// Placeholder until the 'apply' command lands; replaced by its real implementation.
export function register(program: Command): void {
  program.command('apply').description('(apply: not built yet)').allowUnknownOption().allowExcessArguments().action(() => {
    throw new AgentspecError('E_NOT_BUILT', 'apply is not built yet');
  });
}
