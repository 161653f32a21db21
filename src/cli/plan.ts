import type { Command } from 'commander';
import { AgentspecError } from '../errors.ts';

// Placeholder until the 'plan' command lands; replaced by its real implementation.
export function register(program: Command): void {
  program.command('plan').description('(plan: not built yet)').allowUnknownOption().allowExcessArguments().action(() => {
    throw new AgentspecError('E_NOT_BUILT', 'plan is not built yet');
  });
}
