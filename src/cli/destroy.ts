import path from 'node:path';
import type { Command } from 'commander';
import {
  ApplyInterruptedError,
  destroySpec,
  destroySummary,
  failureLines,
  loadDocuments,
  textProgress,
  interruptOutcome,
  trapInterrupts,
  type DestroyResult,
} from '../apply/index.ts';
import { hasChanges, renderPlan } from '../plan/index.ts';
import { DESTROY_ADVICE, confirmOnTerminal } from './confirm.ts';
import { action, globalOptions, openStateBackend, io, parseDuration } from './context.ts';

interface DestroyFlags {
  env?: string;
  autoApprove?: boolean;
  lockTimeout: string;
}

export function register(program: Command): void {
  program
    .command('destroy')
    .description("stop everything the spec's packages deployed and remove their entries from the state")
    .argument('<paths...>', 'spec files (.ias) or directories')
    .option('--env <name>', 'environment the spec was applied with')
    .option('--auto-approve', 'destroy without asking for confirmation')
    .option('--lock-timeout <duration>', 'how long to wait for the state lock (0 fails at once)', '30s')
    .action(
      action(async (paths: string[], flags: DestroyFlags, cmd: Command) => {
        const g = globalOptions(cmd);
        const lockTimeoutMs = parseDuration('--lock-timeout', flags.lockTimeout);
        const color = g.color && process.stdout.isTTY === true && process.env.NO_COLOR === undefined;
        const docs = await loadDocuments(paths, {
          ...(flags.env === undefined ? {} : { env: flags.env }),
        });
        const backend = openStateBackend(g);
        const stateDir = path.dirname(path.resolve(g.stateFile));
        const trap = trapInterrupts('destroy');
        let result: DestroyResult;
        try {
          result = await destroySpec(
            docs.map((d) => d.package.name),
            {
              backend,
              stateDir,
              lockTimeoutMs,
              signal: trap.signal,
              onPlan: (plan) => io.out(renderPlan(plan, { color, destroy: true })),
              ...(flags.autoApprove === true
                ? {}
                : { confirm: () => confirmOnTerminal('destroy', '\nDestroy these resources? Only "yes" is accepted: ', { advice: DESTROY_ADVICE, signal: trap.signal }) }),
              progress: textProgress(io.out, { live: process.stdout.isTTY === true }),
            },
          );
        } catch (err) {
          const sig = trap.received();
          if (sig !== undefined) throw interruptOutcome('destroy', sig, err);
          throw err;
        } finally {
          trap.dispose();
          await backend.close?.();
        }
        if (!result.approved) {
          io.out('Destroy cancelled; nothing was changed.\n');
          return 1;
        }
        if (hasChanges(result.plan) || result.results.length > 0) {
          for (const line of failureLines(result.results)) io.err(`${line}\n`);
          io.out(`\n${destroySummary(result.counts)}\n`);
        }
        const sig = trap.received();
        if (result.interrupted || sig !== undefined) throw new ApplyInterruptedError('destroy', sig ?? 'signal');
        return result.counts.failed > 0 ? 1 : 0;
      }),
    );
}
