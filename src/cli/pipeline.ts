import type { Command } from 'commander';
import { AgentspecError, UsageError, errorMessage } from '../errors.ts';
import { compileSpec, SpecInvalidError } from '../ir/index.ts';
import type { ExprValue } from '../lang/expression.ts';
import { action, io } from './context.ts';

interface PipelineRunFlags {
  input?: string;
  url?: string;
  apiKey?: string;
  env?: string;
}

/** A running runtime refused the run, or could not be reached. */
export class PipelineRequestError extends AgentspecError {
  readonly status: number | undefined;

  constructor(message: string, status?: number, cause?: unknown) {
    super('E_PIPELINE_REQUEST', message, { cause });
    this.status = status;
  }
}

function triggerFrom(text: string | undefined): Record<string, ExprValue> {
  if (text === undefined) return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`--input: not JSON (${errorMessage(err)}); write e.g. --input '{"topic": "x"}'`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new UsageError('--input: must be a JSON object, e.g. {"topic": "x"}');
  return v as Record<string, ExprValue>;
}

/** POST the run to a runtime, as the original SDKs' runPipeline does. */
async function runRemote(base: string, name: string, trigger: Record<string, ExprValue>, apiKey: string | undefined): Promise<Record<string, unknown>> {
  let url: URL;
  try {
    url = new URL(`v1/pipelines/${encodeURIComponent(name)}/run`, base.endsWith('/') ? base : `${base}/`);
  } catch (err) {
    throw new UsageError(`--url: "${base}" is not a URL (${errorMessage(err)})`);
  }
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(apiKey === undefined ? {} : { authorization: `Bearer ${apiKey}` }) },
      body: JSON.stringify({ trigger }),
    });
  } catch (err) {
    throw new PipelineRequestError(`cannot reach ${url.origin}: ${errorMessage(err instanceof Error && err.cause !== undefined ? err.cause : err)}`, undefined, err);
  }
  const text = await res.text();
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new PipelineRequestError(`${url.origin} answered HTTP ${res.status} with a body that is not JSON`, res.status, err);
  }
  if (!res.ok) throw new PipelineRequestError(`${url.origin} answered HTTP ${res.status} ${String(body.error ?? '')}: ${String(body.message ?? text)}`, res.status);
  return body;
}

export function register(program: Command): void {
  const pipeline = program.command('pipeline').description('run the pipelines of a spec (see docs/pipelines.md)');
  pipeline
    .command('run')
    .description('run a pipeline: against a running runtime with --url, else in this process from .ias files; prints the result as JSON')
    .argument('<name>', 'the pipeline')
    .argument('[paths...]', '.ias files or directories (without --url)')
    .option('--input <json>', 'the trigger: a JSON object (default {})')
    .option('--url <url>', 'a running runtime (agentspec run) to run it on, e.g. http://127.0.0.1:8080')
    .option('--api-key <key>', 'the API key for --url (default: $AGENTSPEC_API_KEY)')
    .option('--env <name>', "apply this environment's overrides (without --url)")
    .action(
      action(async (name: string, paths: string[], flags: PipelineRunFlags) => {
        const trigger = triggerFrom(flags.input);
        let result: Record<string, unknown>;
        if (flags.url !== undefined) {
          if (paths.length > 0) throw new UsageError('give either --url or .ias files, not both');
          if (flags.env !== undefined) throw new UsageError('--env applies to .ias files; the runtime at --url serves what it was started with');
          result = await runRemote(flags.url, name, trigger, flags.apiKey ?? (process.env.AGENTSPEC_API_KEY || undefined));
        } else {
          if (paths.length === 0) throw new UsageError('nothing to run: give .ias files or directories, or --url of a running runtime');
          const { documents, diagnostics } = await compileSpec(paths, flags.env === undefined ? {} : { env: flags.env });
          if (diagnostics.length > 0) throw new SpecInvalidError(diagnostics);
          // Loaded here: the runtime (and the tools under it) is only needed by this command.
          const { runPipelineInProcess } = await import('../runtime/pipelines/index.ts');
          const controller = new AbortController();
          const stop = (): void => controller.abort();
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
          try {
            result = { ...(await runPipelineInProcess(documents, name, trigger, { env: process.env, signal: controller.signal })) };
          } finally {
            process.off('SIGINT', stop);
            process.off('SIGTERM', stop);
          }
        }
        io.out(`${JSON.stringify(result, null, 2)}\n`);
        return result.status === 'completed' ? 0 : 1;
      }),
    );
}
