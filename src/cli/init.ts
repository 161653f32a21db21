import fs from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { AgentspecError, ExitCode, UsageError, errorMessage } from '../errors.ts';
import { logger } from '../log.ts';
import { action, io } from './context.ts';
import { TEMPLATES, findTemplate, type Template, type TemplateFile } from './templates/index.ts';

/** `init` would overwrite files that exist; nothing was written. */
export class InitExistsError extends AgentspecError {
  readonly paths: string[];

  constructor(paths: string[]) {
    super(
      'E_INIT_EXISTS',
      `refusing to overwrite existing ${paths.length === 1 ? 'file' : 'files'}: ${paths.join(', ')} ` +
        `(nothing was written; move ${paths.length === 1 ? 'it' : 'them'} away or run init in another directory)`,
    );
    this.paths = paths;
  }
}

/** A package name from the directory name: lower case, letters, digits and dashes. */
export function packageNameFor(dir: string): string {
  const base = path
    .basename(path.resolve(dir))
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^[-_0-9]+|[-_]+$/g, '');
  return base === '' ? 'my-agents' : base;
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.lstat(p);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

export interface InitResult {
  written: string[];
  skipped: string[];
}

/** Write the template's files into `dir` (created if missing); never overwrites a file. */
export async function writeStarter(dir: string, template: Template, port: number = template.port): Promise<InitResult> {
  const files = template.files(packageNameFor(dir), port);
  const clashes: string[] = [];
  const toWrite: TemplateFile[] = [];
  const skipped: string[] = [];
  for (const f of files) {
    const target = path.join(dir, f.path);
    if (!(await exists(target))) toWrite.push(f);
    else if (f.optional === true) skipped.push(target);
    else clashes.push(target);
  }
  if (clashes.length > 0) throw new InitExistsError(clashes);
  await fs.mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const f of toWrite) {
    const target = path.join(dir, f.path);
    try {
      // `wx`: a file that appeared since the check above is still never overwritten.
      await fs.writeFile(target, f.content, { flag: 'wx', mode: 0o644 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new InitExistsError([target]);
      throw new AgentspecError('E_INIT_WRITE', `cannot write ${target}: ${errorMessage(err)}`, { cause: err });
    }
    written.push(target);
  }
  logger('init').debug({ dir, template: template.name, written }, 'starter project written');
  return { written, skipped };
}

// Every line is meant to be pasted as it is, from where init was run (a test runs them).
function nextSteps(dir: string, template: Template, port: number): string {
  const spec = dir === '.' ? template.spec : path.join(dir, template.spec);
  const lines = [
    '',
    'Next steps:',
    ...(dir === '.' ? [] : [`  cd ${dir}`]),
    `  agentspec validate ${template.spec}      # check the spec`,
    `  agentspec plan ${template.spec}          # see what apply would do`,
    `  agentspec apply ${template.spec}         # start the agents on port ${port}`,
    `  curl -s -X POST http://127.0.0.1:${port}/v1/agents/${template.agent}/invoke \\`,
    `       -H 'content-type: application/json' -d '{"message":"hello"}'`,
    `  agentspec destroy ${template.spec}       # stop them`,
    '',
    `Edit ${spec} to add prompts, skills and agents; \`agentspec fmt --write ${template.spec}\` keeps it tidy.`,
  ];
  return lines.join('\n') + '\n';
}

function portFlag(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 65535) throw new UsageError(`--port: "${value}" is not a port (1..65535)`);
  return Number(value);
}

export async function runInit(dir: string, templateName: string, portValue?: string): Promise<number> {
  const template = findTemplate(templateName);
  if (template === undefined) {
    throw new UsageError(`unknown template "${templateName}" (available: ${TEMPLATES.map((t) => t.name).join(', ')})`);
  }
  const port = portFlag(portValue, template.port);
  const { written, skipped } = await writeStarter(dir, template, port);
  for (const w of written) io.out(`created ${w}\n`);
  for (const s of skipped) io.out(`kept existing ${s}\n`);
  io.out(nextSteps(dir, template, port));
  return ExitCode.ok;
}

export function register(program: Command): void {
  program
    .command('init')
    .description('create a starter project that runs locally without an API key')
    .argument('[dir]', 'directory to create the project in', '.')
    .option('--template <name>', `starter template (${TEMPLATES.map((t) => `${t.name}: ${t.description}`).join('; ')})`, 'basic')
    .option('--port <port>', 'port the local runtime listens on (default: 8080)')
    .action(action(async (dir: string, opts: { template: string; port?: string }) => runInit(dir, opts.template, opts.port)));
}
