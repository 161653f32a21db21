import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Attributes } from '../ir/types.ts';
import { ToolConfigError } from './errors.ts';
import { DEFAULT_INLINE_MEMORY, DEFAULT_OUTPUT_CAP, STDERR_CAP, parseMemory } from './limits.ts';
import { checkInput, processOutcome } from './outcome.ts';
import { runProcess } from './process.ts';
import { timeoutOf, withWorkdir, type ProcessToolDeps } from './command.ts';
import type { Tool, ToolCallContext, ToolOutcome, ToolSpec } from './types.ts';

interface Language {
  interpreter: string;
  file: string;
  /** argv after the interpreter; `heapFlag` set when the interpreter limits its own heap. */
  args(file: string, memoryBytes: number): string[];
  /** false: the limit is the interpreter's own (V8 reserves address space RLIMIT_AS would refuse). */
  rlimit: boolean;
}

const LANGUAGES: Record<string, Language> = {
  python: { interpreter: 'python3', file: 'main.py', args: (f) => [f], rlimit: true },
  javascript: { interpreter: 'node', file: 'main.mjs', args: (f, mem) => [`--max-old-space-size=${Math.max(8, Math.floor(mem / (1024 * 1024)))}`, f], rlimit: false },
  bash: { interpreter: 'bash', file: 'main.sh', args: (f) => [f], rlimit: true },
};
const ALIASES: Record<string, string> = { py: 'python', python3: 'python', js: 'javascript', node: 'javascript', sh: 'bash' };

/** `tool inline`: the code in a fresh temp directory, input JSON on stdin, a kernel memory limit. */
export class InlineTool implements Tool {
  readonly kind = 'inline' as const;
  readonly name: string;
  readonly spec: ToolSpec;
  private readonly lang: Language;
  private readonly language: string;
  private readonly interpreter: string;
  private readonly prlimit: string | undefined;
  private readonly code: string;
  private readonly timeoutMs: number;
  private readonly memoryBytes: number;
  private readonly env: Readonly<Record<string, string>>;
  private readonly deps: ProcessToolDeps;

  constructor(spec: ToolSpec, tool: Attributes, deps: ProcessToolDeps) {
    this.name = spec.name;
    this.spec = spec;
    this.deps = deps;
    const raw = (typeof tool.language === 'string' ? tool.language : '').toLowerCase();
    const lang = LANGUAGES[ALIASES[raw] ?? raw];
    if (lang === undefined) throw new ToolConfigError(spec.name, `inline language "${raw}" is not supported (use python, javascript or bash)`);
    this.lang = lang;
    this.language = ALIASES[raw] ?? raw;
    const interpreter = deps.which(lang.interpreter);
    if (interpreter === undefined) throw new ToolConfigError(spec.name, `${raw} needs "${lang.interpreter}", which is not found on PATH`);
    this.interpreter = interpreter;
    this.code = typeof tool.code === 'string' ? tool.code : '';
    if (this.code === '') throw new ToolConfigError(spec.name, 'tool inline has no code');
    this.timeoutMs = timeoutOf(spec.name, tool.timeout);
    const memText = typeof tool.memory_limit === 'string' ? tool.memory_limit : typeof tool.memory === 'string' ? tool.memory : '';
    const mem = memText === '' ? DEFAULT_INLINE_MEMORY : parseMemory(memText);
    if (mem === undefined) throw new ToolConfigError(spec.name, `memory "${memText}" is not a size like 256Mi`);
    this.memoryBytes = mem;
    this.prlimit = lang.rlimit ? deps.which('prlimit') : undefined;
    if (lang.rlimit && this.prlimit === undefined) throw new ToolConfigError(spec.name, 'the memory limit needs prlimit (util-linux), which is not found on PATH');
    this.env = deps.baseEnv;
  }

  async call(input: unknown, ctx: ToolCallContext): Promise<ToolOutcome> {
    const checked = checkInput(this.spec, input, this.deps.redactor);
    if ('outcome' in checked) return checked.outcome;
    return withWorkdir(async (dir) => {
      const file = path.join(dir, this.lang.file);
      await writeFile(file, this.code, { mode: 0o600 });
      let argv = [this.interpreter, ...this.lang.args(file, this.memoryBytes)];
      // RLIMIT_AS: the kernel refuses allocations past the limit, whatever the code does.
      if (this.prlimit !== undefined) argv = [this.prlimit, `--as=${this.memoryBytes}`, '--', ...argv];
      const r = await runProcess({
        argv: this.deps.sandbox.wrap(argv, dir),
        stdin: JSON.stringify(checked.ok),
        env: { ...this.env, TMPDIR: dir },
        cwd: dir,
        timeoutMs: this.timeoutMs,
        outputCap: this.deps.outputCap ?? DEFAULT_OUTPUT_CAP,
        stderrCap: STDERR_CAP,
        signal: ctx.signal,
      });
      return processOutcome(r, this.timeoutMs, this.deps.redactor, `inline ${this.language} code`);
    });
  }
}
