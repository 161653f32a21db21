import type { Command } from 'commander';
import { ExitCode, UsageError, errorMessage } from '../errors.ts';
import { action, io } from './context.ts';

interface MigrateFlags {
  redis?: string;
  keyPrefix: string;
  dryRun?: boolean;
}

/** What one pass over the original-layout sessions did (or, dry, would do). */
export interface MigrationSummary {
  found: number;
  migrated: number;
  alreadyMigrated: number;
  /** Gone between the scan and the migration (expired, deleted, or moved and retired by a runtime). */
  vanished: number;
  failed: Array<{ id: string; reason: string }>;
}

function printSummary(s: MigrationSummary, dryRun: boolean): void {
  const lines = [
    `found ${s.found} session(s) in the original agentspec layout`,
    `${dryRun ? 'would migrate' : 'migrated'} ${s.migrated}`,
    `skipped ${s.alreadyMigrated} already migrated`,
    ...(s.vanished > 0 ? [`skipped ${s.vanished} gone since the scan`] : []),
    `failed ${s.failed.length}`,
    ...s.failed.map((f) => `  ${f.id}: ${f.reason}`),
  ];
  io.out(`${lines.join('\n')}\n`);
}

async function migrateAll(flags: MigrateFlags): Promise<number> {
  const url = flags.redis ?? process.env.REDIS_URL;
  if (url === undefined || url === '') throw new UsageError('sessions migrate needs --redis URL (or REDIS_URL)');
  const dryRun = flags.dryRun === true;
  // Loaded here: the Redis client is only needed by this command and `run`.
  const { RedisSessionStore } = await import('../session/redis-store.ts');
  const store = await RedisSessionStore.open({ url, keyPrefix: flags.keyPrefix });
  const summary: MigrationSummary = { found: 0, migrated: 0, alreadyMigrated: 0, vanished: 0, failed: [] };
  try {
    for await (const id of store.original.scan()) {
      summary.found++;
      try {
        if (dryRun) {
          // plan() reads and converts everything the migration would, so a dry run reports the same failures.
          if (await store.original.hasOurs(id)) summary.alreadyMigrated++;
          else if ((await store.original.plan(id)) === null) summary.vanished++;
          else summary.migrated++;
          continue;
        }
        const outcome = await store.original.migrate(id);
        if (outcome === 'migrated') summary.migrated++;
        else if (outcome === 'already') summary.alreadyMigrated++;
        else summary.vanished++;
      } catch (err) {
        summary.failed.push({ id, reason: errorMessage(err) });
      }
    }
  } finally {
    await store.close();
  }
  printSummary(summary, dryRun);
  return summary.failed.length > 0 ? ExitCode.failure : ExitCode.ok;
}

export function register(program: Command): void {
  const sessions = program.command('sessions').description('maintain stored conversation sessions (see docs/sessions.md)');
  sessions
    .command('migrate')
    .description("move every session of the original agentspec's Redis layout into this one (SCAN, never KEYS)")
    .option('--redis <url>', 'the Redis holding the sessions (default: REDIS_URL)')
    .option('--key-prefix <prefix>', 'first part of every session key', 'agentspec')
    .option('--dry-run', 'count what would be migrated (and what would fail) without writing')
    .action(action((flags: MigrateFlags) => migrateAll(flags)));
}
