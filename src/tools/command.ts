import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Attributes, JsonValue } from '../ir/types.ts';
import { ToolConfigError } from './errors.ts';
import { attrStringMap } from '../ir/attributes.ts';
import { parseSpecDuration } from '../ir/duration.ts';
import { DEFAULT_OUTPUT_CAP, DEFAULT_TOOL_TIMEOUT_MS, STDERR_CAP } from './limits.ts';
import { checkInput, processOutcome } from './outcome.ts';
import { runProcess } from './process.ts';
import type { Redactor } from './redact.ts';
import type { Sandbox } from './sandbox.ts';
import { render } from './template.ts';
import type { Tool, ToolCallContext, ToolOutcome, ToolSpec } from './types.ts';

/** What building a command or inline tool needs from the tool set. */
export interface ProcessToolDeps {
  /** PATH lookups of the toolset being built (pathLookup over the runtime's PATH). */
  which: (name: string) => string | undefined;
  /** baseToolEnv of the runtime's environment, made once per toolset rather than once per skill. */
  baseEnv: Readonly<Record<string, string>>;
  sandbox: Sandbox;
  redactor: Redactor;
  secrets: ReadonlyMap<string, string>;
  outputCap?: number;
}

export function timeoutOf(skill: string, v: JsonValue | undefined): number {
  if (v === undefined || v === '') return DEFAULT_TOOL_TIMEOUT_MS;
  const ms = typeof v === 'string' ? parseSpecDuration(v) : undefined;
  if (ms === undefined || ms <= 0) throw new ToolConfigError(skill, `timeout "${String(v)}" is not a duration like 30s`);
  return ms;
}

/** A fresh private directory for one call, removed afterwards whatever happened. */
export async function withWorkdir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'agentspec-tool-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** `tool command`: argv without a shell, input JSON on stdin, a scrubbed environment. */
export class CommandTool implements Tool {
  readonly kind = 'command' as const;
  readonly name: string;
  readonly spec: ToolSpec;
  private readonly binary: string;
  private readonly args: string[];
  private readonly env: Record<string, string>;
  private readonly timeoutMs: number;
  private readonly deps: ProcessToolDeps;

  constructor(spec: ToolSpec, tool: Attributes, deps: ProcessToolDeps) {
    this.name = spec.name;
    this.spec = spec;
    this.deps = deps;
    const binary = typeof tool.binary === 'string' ? tool.binary : '';
    if (binary === '') throw new ToolConfigError(spec.name, 'tool command has no binary');
    const found = deps.which(binary);
    if (found === undefined) throw new ToolConfigError(spec.name, `binary "${binary}" is not found on PATH (or is not executable)`);
    this.binary = found;
    this.args = Array.isArray(tool.args) ? tool.args.filter((a): a is string => typeof a === 'string') : [];
    this.timeoutMs = timeoutOf(spec.name, tool.timeout);
    const env = { ...deps.baseEnv, ...attrStringMap(tool.env) };
    for (const [variable, secret] of Object.entries(attrStringMap(tool.secrets))) {
      const value = deps.secrets.get(secret);
      if (value === undefined) throw new ToolConfigError(spec.name, `secrets: ${variable} refers to secret "${secret}", which is not declared`);
      env[variable] = value;
    }
    this.env = env;
  }

  async call(input: unknown, ctx: ToolCallContext): Promise<ToolOutcome> {
    const checked = checkInput(this.spec, input, this.deps.redactor);
    if ('outcome' in checked) return checked.outcome;
    // Each `{{field}}` stays inside its own argv element: a value can never become two arguments.
    const argv = [this.binary, ...this.args.map((a) => render(a, checked.ok))];
    return withWorkdir(async (dir) => {
      const r = await runProcess({
        argv: this.deps.sandbox.wrap(argv, dir),
        stdin: JSON.stringify(checked.ok),
        env: { ...this.env },
        cwd: dir,
        timeoutMs: this.timeoutMs,
        outputCap: this.deps.outputCap ?? DEFAULT_OUTPUT_CAP,
        stderrCap: STDERR_CAP,
        signal: ctx.signal,
      });
      return processOutcome(r, this.timeoutMs, this.deps.redactor, `command ${path.basename(this.binary)}`);
    });
  }
}
