import type { Command } from 'commander';
import { AgentspecError } from '../errors.ts';

// Placeholder until the 'logs' command lands; replaced by its real implementation.
export function register(program: Command): void {
  program.command('logs').description('(logs: not built yet)').allowUnknownOption().allowExcessArguments().action(() => {
    throw new AgentspecError('E_NOT_BUILT', 'logs is not built yet');
  });
}
