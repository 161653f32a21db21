import path from 'node:path';
import type { Command } from 'commander';
import { chooseTarget, describeTarget, loadDocuments, previousAttributes, refreshEntries } from '../apply/index.ts';
import { AgentspecError } from '../errors.ts';
import { computePlan, hasChanges, planToJson, renderPlan } from '../plan/index.ts';
import { action, globalOptions, openStateBackend, io } from './context.ts';
import { printDiagnostics } from './validate.ts';

interface PlanFlags {
  env?: string;
  target?: string;
  json?: boolean;
  detailedExitcode?: boolean;
  verbose?: boolean;
  destroy?: boolean;
}

function targetLabel(doc: Parameters<typeof chooseTarget>[0], target: string | undefined): string | undefined {
  try {
    return describeTarget(chooseTarget(doc, target));
  } catch (err) {
    // The plan is still useful without a target; apply is where a missing one is an error.
    if (err instanceof AgentspecError) return undefined;
    throw err;
  }
}

export function register(program: Command): void {
  program
    .command('plan')
    .description('show what apply would change (reads the state without the lock, never writes)')
    .argument('<paths...>', 'spec files (.ias) or directories')
    .option('--env <name>', 'apply the overrides of this environment')
    .option('--target <name>', 'binding or deploy target to label the plan with')
    .option('--json', 'print the plan as JSON')
    .option('--detailed-exitcode', 'exit 0 when there are no changes, 2 when there are')
    .option('--verbose', 'also list unchanged resources')
    .option('--destroy', 'show what `agentspec destroy` would remove')
    .action(
      action(async (paths: string[], flags: PlanFlags, cmd: Command) => {
        const g = globalOptions(cmd);
        const color = g.color && process.stdout.isTTY === true && process.env.NO_COLOR === undefined;
        const docs = await loadDocuments(paths, {
          ...(flags.env === undefined ? {} : { env: flags.env }),
          ...(flags.target === undefined ? {} : { target: flags.target }),
          checkDeploy: true,
          onWarnings: (w) => printDiagnostics(cmd, w),
        });
        const backend = openStateBackend(g);
        const stateDir = path.dirname(path.resolve(g.stateFile));
        try {
          const state = await backend.load();
          const packages = docs.map((d) => d.package.name);
          const destroy = flags.destroy === true;
          // The same plan destroy computes: every entry of the packages goes.
          const plan = destroy
            ? computePlan({ packages, desired: [], entries: state.entries })
            : computePlan({
                packages,
                desired: docs.flatMap((d) => d.resources ?? []),
                entries: refreshEntries(state.entries, stateDir),
                previous: previousAttributes(stateDir, packages, state.entries),
              });
          if (flags.json === true) {
            io.out(`${JSON.stringify(planToJson(plan), null, 2)}\n`);
          } else {
            const targets = new Map<string, string>();
            for (const d of docs) {
              const label = targetLabel(d, flags.target);
              if (label !== undefined) targets.set(d.package.name, label);
            }
            io.out(renderPlan(plan, { color, verbose: flags.verbose === true, targets, destroy }));
          }
          return flags.detailedExitcode === true && hasChanges(plan) ? 2 : 0;
        } finally {
          await backend.close?.();
        }
      }),
    );
}
