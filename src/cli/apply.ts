import path from 'node:path';
import type { Command } from 'commander';
import {
  ApplyInterruptedError,
  applySpec,
  applySummary,
  describeTarget,
  failureLines,
  loadPackages,
  textProgress,
  interruptOutcome,
  trapInterrupts,
  type EngineResult,
} from '../apply/index.ts';
import { hasChanges, planToJson, renderPlan } from '../plan/index.ts';
import { PLAN_ADVICE, confirmOnTerminal } from './confirm.ts';
import { action, globalOptions, openStateBackend, io, parseDuration } from './context.ts';
import { printDiagnostics } from './validate.ts';

interface ApplyFlags {
  env?: string;
  target?: string;
  autoApprove?: boolean;
  lockTimeout: string;
  json?: boolean;
}

function resultJson(r: EngineResult): Record<string, unknown> {
  return {
    format_version: '1',
    approved: r.approved,
    interrupted: r.interrupted,
    plan: planToJson(r.plan),
    results: r.results,
    summary: r.counts,
    serial: r.state.serial,
  };
}

export function register(program: Command): void {
  program
    .command('apply')
    .description('make the deployment match the spec and record it in the state (under the state lock)')
    .argument('<paths...>', 'spec files (.ias) or directories')
    .option('--env <name>', 'apply the overrides of this environment')
    .option('--target <name>', 'binding or deploy target to deploy to')
    .option('--auto-approve', 'apply without asking for confirmation')
    .option('--lock-timeout <duration>', 'how long to wait for the state lock (0 fails at once)', '30s')
    .option('--json', 'print the plan and the results as JSON')
    .action(
      action(async (paths: string[], flags: ApplyFlags, cmd: Command) => {
        const g = globalOptions(cmd);
        const lockTimeoutMs = parseDuration('--lock-timeout', flags.lockTimeout);
        const color = g.color && process.stdout.isTTY === true && process.env.NO_COLOR === undefined;
        // Validation comes first: a spec with errors never reaches the state or the adapters.
        const specs = await loadPackages(paths, {
          ...(flags.env === undefined ? {} : { env: flags.env }),
          ...(flags.target === undefined ? {} : { target: flags.target }),
          checkDeploy: true,
          onWarnings: (w) => printDiagnostics(cmd, w),
        });
        const backend = openStateBackend(g);
        const stateDir = path.dirname(path.resolve(g.stateFile));
        const json = flags.json === true;
        const targets = new Map(specs.map((s) => [s.name, describeTarget(s.target)]));
        const trap = trapInterrupts('apply');
        let result: EngineResult;
        try {
          result = await applySpec(specs, {
            backend,
            stateDir,
            lockTimeoutMs,
            signal: trap.signal,
            onPlan: (plan) => {
              if (!json) io.out(renderPlan(plan, { color, targets }));
            },
            ...(flags.autoApprove === true
              ? {}
              : {
                  confirm: () =>
                    confirmOnTerminal('apply', '\nApply these changes? Only "yes" is accepted: ', { advice: PLAN_ADVICE, signal: trap.signal }),
                }),
            ...(json ? {} : { progress: textProgress(io.out, { live: process.stdout.isTTY === true }) }),
          });
        } catch (err) {
          const sig = trap.received();
          if (sig !== undefined) throw interruptOutcome('apply', sig, err);
          throw err;
        } finally {
          trap.dispose();
          await backend.close?.();
        }

        if (json) io.out(`${JSON.stringify(resultJson(result), null, 2)}\n`);
        if (!result.approved) {
          if (!json) io.out('Apply cancelled; nothing was changed.\n');
          return 1;
        }
        // A plan with nothing to do already said "No changes." and nothing else is added to it.
        if (!json && (hasChanges(result.plan) || result.results.length > 0)) {
          for (const line of failureLines(result.results)) io.err(`${line}\n`);
          io.out(`\n${applySummary(result.counts)}\n`);
        }
        const sig = trap.received();
        if (result.interrupted || sig !== undefined) throw new ApplyInterruptedError('apply', sig ?? 'signal');
        if (result.counts.failed > 0) return 1;
        return 0;
      }),
    );
}
