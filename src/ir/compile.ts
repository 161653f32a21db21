import { AgentspecError } from '../errors.ts';
import type { Statement } from '../lang/ast.ts';
import { diagnostic, diagnosticAt, formatDiagnostics, type Diagnostic } from '../lang/diagnostics.ts';
import { loadSources, type LoadedRoot, type LoadOptions } from '../lang/load.ts';
import { checkRunnable, documentPolicyFindings, validateFile, validateStructural } from '../validate/index.ts';
import { unknownModelReason } from '../runtime/providers/models.ts';
import { applyEnvironment } from './environment.ts';
import { EnvironmentNotFoundError, EnvironmentOverrideError } from './errors.ts';
import { lowerFile } from './lower.ts';
import type { IRDocument } from './types.ts';

export interface CompileOptions {
  /** Environment whose overrides are applied (its Environment resources are then removed). */
  env?: string;
  /** Passed to the loader (search paths for package imports, base directory). */
  load?: LoadOptions;
  /**
   * Check that apply can deploy the spec: its target (`--target`, else the one apply chooses) must
   * be one an adapter deploys. For validate, plan and apply; not for commands that only serve.
   */
  deploy?: { target?: string };
}

export interface CheckedRoot {
  root: LoadedRoot;
  /** Diagnostics of this root: loading (parse, imports, duplicates), then validation. */
  diagnostics: Diagnostic[];
  /** What may fail where the spec runs but is not an error in it (e.g. a binary not on PATH here). */
  warnings: Diagnostic[];
}

export interface CheckedSpec {
  roots: CheckedRoot[];
  /** Every diagnostic of the run, in the order reported (no duplicates). */
  diagnostics: Diagnostic[];
  /** Every warning of the run: printed, but the spec stays valid. */
  warnings: Diagnostic[];
  /** Display paths of every file read (roots and what they import). */
  files: string[];
  /** Source text per display path (to print the offending line under a diagnostic). */
  sources: Map<string, string>;
}

export interface CompiledSpec {
  /** One IR document per root file; empty whenever `diagnostics` is not. */
  documents: IRDocument[];
  diagnostics: Diagnostic[];
  warnings: Diagnostic[];
  files: string[];
  sources?: Map<string, string>;
}

/** A spec with errors: commands refuse to act on it. Carries every diagnostic. */
export class SpecInvalidError extends AgentspecError {
  readonly diagnostics: Diagnostic[];

  constructor(diagnostics: Diagnostic[]) {
    super(
      'E_SPEC_INVALID',
      `the spec has ${diagnostics.length} error(s); nothing was done. Fix them (agentspec validate shows them) and retry:\n` +
        formatDiagnostics(diagnostics, { color: false }).trimEnd(),
    );
    this.diagnostics = diagnostics;
  }
}

function keyOf(d: Diagnostic): string {
  return `${d.file}\0${d.line}\0${d.column}\0${d.message}`;
}

function isDuplicateName(d: Diagnostic): boolean {
  return d.message.startsWith('duplicate ');
}

/**
 * Validate one loaded root (REFERENCE 4.1): a root that does not parse reports only its parse
 * errors. Otherwise structural checks always run; semantic and environment checks run unless an
 * import could not be loaded (every reference into it would be reported as missing otherwise).
 */
function checkRoot(root: LoadedRoot, opts: Pick<CompileOptions, 'deploy'>): { diagnostics: Diagnostic[]; warnings: Diagnostic[] } {
  if (root.parseFailed) return { diagnostics: [...root.diagnostics], warnings: [] };
  const fileOf = (s: Statement): string => root.fileOf.get(s) ?? root.path;
  const importsLoaded = root.diagnostics.every(isDuplicateName);
  const input = { file: root.file, statements: root.statements, fileOf };
  const validation = importsLoaded ? validateFile(root.file, root.statements, fileOf) : validateStructural(input);
  const runnable = importsLoaded ? checkRunnable(input, opts.deploy === undefined ? {} : { deploy: opts.deploy }) : { errors: [], warnings: [] };
  // A problem the loader already reported (e.g. an empty import path) is not reported twice.
  const loaderAt = new Set(root.diagnostics.map((d) => `${d.file}\0${d.line}\0${d.column}`));
  const fresh = [...validation, ...runnable.errors].filter((d) => !loaderAt.has(`${d.file}\0${d.line}\0${d.column}`));
  return { diagnostics: [...root.diagnostics, ...fresh], warnings: runnable.warnings };
}

/** Load every given file/directory with its imports and validate each root. Never throws for spec problems. */
export async function checkSpec(paths: string[], opts: Pick<CompileOptions, 'load' | 'deploy'> = {}): Promise<CheckedSpec> {
  const loaded = await loadSources(paths, opts.load);
  const inRoots = new Set(loaded.roots.flatMap((r) => r.diagnostics));
  const all: Diagnostic[] = loaded.diagnostics.filter((d) => !inRoots.has(d));
  const roots: CheckedRoot[] = loaded.roots.map((root) => ({ root, ...checkRoot(root, opts) }));
  for (const r of roots) all.push(...r.diagnostics);
  const files = [...new Set(loaded.roots.flatMap((r) => r.files))];
  return { roots, diagnostics: unique(all), warnings: unique(roots.flatMap((r) => r.warnings)), files, sources: loaded.sources };
}

/** Each diagnostic once (a file imported by two roots is checked twice). */
function unique(diags: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return diags.filter((d) => {
    const k = keyOf(d);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/**
 * What an environment's overrides broke: a model no provider serves, a policy the package now
 * breaks. Reported at the environment, whose overrides are what to change.
 */
function overrideDiagnostics(root: LoadedRoot, doc: IRDocument, env: string): Diagnostic[] {
  const stmt = root.statements.find((s) => s.kind === 'environment' && s.name === env);
  const file = stmt === undefined ? root.path : (root.fileOf.get(stmt) ?? root.path);
  const pos = stmt?.pos ?? { line: 1, column: 1 };
  const problems: string[] = [];
  for (const r of doc.resources ?? []) {
    const model = r.kind === 'Agent' && typeof r.attributes.model === 'string' ? r.attributes.model : '';
    const reason = model === '' ? undefined : unknownModelReason(model);
    if (reason !== undefined) problems.push(`agent "${r.name}": ${reason}`);
  }
  problems.push(...documentPolicyFindings(doc));
  return problems.map((p) => diagnosticAt(file, pos, `with environment "${env}": ${p}`));
}

function environmentDiagnostic(root: LoadedRoot, err: EnvironmentNotFoundError | EnvironmentOverrideError): Diagnostic {
  if (err instanceof EnvironmentOverrideError) {
    const env = root.statements.find((s) => s.kind === 'environment' && s.name === err.environment);
    if (env !== undefined) return diagnosticAt(root.fileOf.get(env) ?? root.path, env.pos, err.message);
  }
  const hint = err instanceof EnvironmentNotFoundError && err.available.length > 0 ? `available: ${err.available.join(', ')}` : undefined;
  return diagnostic(root.path, 1, 1, err instanceof EnvironmentNotFoundError ? `environment "${err.environment}" not found` : err.message, hint);
}

/**
 * The entry point of every command that reads specs: load the files and their imports,
 * validate, and only when there is no error lower each root (with what it imports) to an IR
 * document and apply `env`. `documents` is empty whenever there are diagnostics.
 */
export async function compileSpec(paths: string[], opts: CompileOptions = {}): Promise<CompiledSpec> {
  const checked = await checkSpec(paths, opts);
  const result = (documents: IRDocument[], diagnostics: Diagnostic[]): CompiledSpec => ({
    documents,
    diagnostics,
    warnings: checked.warnings,
    files: checked.files,
    sources: checked.sources,
  });
  if (checked.diagnostics.length > 0) return result([], checked.diagnostics);
  const documents: IRDocument[] = [];
  const envErrors: Diagnostic[] = [];
  for (const { root } of checked.roots) {
    const doc = lowerFile(root.file, root.statements);
    try {
      const applied = applyEnvironment(doc, opts.env);
      if (opts.env !== undefined && opts.env !== '') envErrors.push(...overrideDiagnostics(root, applied, opts.env));
      documents.push(applied);
    } catch (err) {
      if (err instanceof EnvironmentNotFoundError || err instanceof EnvironmentOverrideError) envErrors.push(environmentDiagnostic(root, err));
      else throw err;
    }
  }
  return envErrors.length > 0 ? result([], envErrors) : result(documents, []);
}
