import { Command, CommanderError, Option } from 'commander';
import { AgentspecError, ExitCode, errorMessage } from '../errors.ts';
import { DEFAULT_LOG_LEVEL, LOG_LEVELS, configureLogging, isLogLevel, logger } from '../log.ts';
import { VERSION } from '../version.ts';
import { globalOptions, io, lastExitCode, resetExitCode } from './context.ts';
import { register as registerApply } from './apply.ts';
import { register as registerDestroy } from './destroy.ts';
import { register as registerFmt } from './fmt.ts';
import { register as registerInit } from './init.ts';
import { register as registerIr } from './ir.ts';
import { register as registerLogs } from './logs.ts';
import { register as registerPipeline } from './pipeline.ts';
import { register as registerPlan } from './plan.ts';
import { register as registerRun } from './run.ts';
import { register as registerSessions } from './sessions.ts';
import { register as registerState } from './state.ts';
import { register as registerStatus } from './status.ts';
import { register as registerValidate } from './validate.ts';

// A server's log is its output, so `run` (also the runtime `apply` starts) logs at info; every
// other command prints its result on stdout and only warnings and errors on stderr.
function logLevel(flag: string | undefined, cmd: Command): string {
  if (flag !== undefined) return flag;
  const env = process.env.AGENTSPEC_LOG_LEVEL;
  if (env !== undefined && isLogLevel(env)) return env;
  // `pipeline run` prints its result like any command; only the server `run` logs at info.
  return cmd.name() === 'run' && cmd.parent?.parent === null ? 'info' : DEFAULT_LOG_LEVEL;
}

export function buildProgram(): Command {
  const program = new Command('agentspec')
    .description('Declarative toolchain for AI agents: plan, apply and run IntentLang (.ias) specs')
    .version(VERSION, '-V, --version')
    .option('--state-file <path>', 'state file', '.agentspec.state.json')
    .option('--state-backend <url>', 'keep the state in PostgreSQL (postgres://…[?workspace=NAME]) instead of --state-file (default: $AGENTSPEC_STATE_BACKEND)')
    .addOption(new Option('--log-format <format>', 'log format on stderr').choices(['text', 'json']).default('text'))
    .addOption(new Option('--log-level <level>', `log level on stderr (default: ${DEFAULT_LOG_LEVEL}; \`run\`: info)`).choices(LOG_LEVELS))
    .option('-v', 'same as --log-level info')
    .option('--no-color', 'disable colors')
    .showHelpAfterError()
    .exitOverride();

  program.hook('preAction', (_root, actionCmd) => {
    const g = globalOptions(actionCmd);
    configureLogging({ format: g.logFormat, level: logLevel(g.logLevel, actionCmd), color: g.color && process.stderr.isTTY === true });
  });

  for (const register of [
    registerInit,
    registerValidate,
    registerFmt,
    registerIr,
    registerPlan,
    registerApply,
    registerDestroy,
    registerStatus,
    registerLogs,
    registerState,
    registerRun,
    registerPipeline,
    registerSessions,
  ]) {
    register(program);
  }
  // Subcommands inherit exitOverride only when set on each; do it once here for all of them.
  const override = (cmd: Command): void => {
    cmd.exitOverride();
    cmd.commands.forEach(override);
  };
  override(program);
  return program;
}

/** Run the CLI; resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  resetExitCode();
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return lastExitCode();
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end through here with exit code 0.
      return err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    if (err instanceof AgentspecError) {
      logger().debug({ err, code: err.code }, 'command failed');
      io.err(`Error: ${err.message}\n`);
      return err.exitCode;
    }
    logger().error({ err }, 'unexpected error');
    io.err(`Error: ${errorMessage(err)}\n`);
    return ExitCode.failure;
  }
}
