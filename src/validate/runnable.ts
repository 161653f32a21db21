import { adapterForDeployTarget, DEPLOYABLE_ADAPTERS, REGISTERED_ADAPTERS } from '../ir/target.ts';
import { MEMORY_STRATEGIES } from '../ir/attributes.ts';
import type { BindingStmt, DeployStmt, Pos, Statement } from '../lang/ast.ts';
import { diagnosticAt, warningAt, type Diagnostic } from '../lang/diagnostics.ts';
import { MODEL_NAMING_HINT, unknownModelReason } from '../runtime/providers/models.ts';
import { pathLookup } from '../tools/path.ts';
import { q, type ValidationInput } from './context.ts';

/*
 * What only apply (or the runtime it starts) found out before: a model no provider serves, a
 * deploy target apply cannot deploy to, a memory block the runtime cannot use, and (as warnings,
 * since they may exist where the runtime is deployed) binaries that are not on PATH here.
 */

export interface RunnableOptions {
  /** PATH is read from it. Default process.env. */
  env?: NodeJS.ProcessEnv;
  /**
   * Check the deploy targets: the one apply deploys to (`target`, else the one it would choose)
   * must be deployable (an error), the others get a warning. Without it they are not checked.
   */
  deploy?: { target?: string };
}

export interface RunnableReport {
  errors: Diagnostic[];
  warnings: Diagnostic[];
}

type Target = { stmt: BindingStmt; adapter: string; pos: Pos } | { stmt: DeployStmt; adapter: string; pos: Pos };

function targetsOf(statements: readonly Statement[]): Target[] {
  const out: Target[] = [];
  for (const s of statements) {
    if (s.kind === 'binding' && s.adapter !== undefined && s.adapter.value !== '') out.push({ stmt: s, adapter: s.adapter.value, pos: s.adapter.valuePos });
    if (s.kind === 'deploy' && s.target !== undefined) out.push({ stmt: s, adapter: adapterForDeployTarget(s.target.value), pos: s.target.valuePos });
  }
  return out;
}

/** REFERENCE 3.7 on statements: bindings first, then deploy targets; by name, else the first default, else the only one. */
function chosenTarget(targets: Target[], name: string | undefined): Target | undefined {
  for (const kind of ['binding', 'deploy'] as const) {
    const items = targets.filter((t) => t.stmt.kind === kind);
    const found = name !== undefined ? items.find((t) => t.stmt.name === name) : (items.find((t) => t.stmt.default?.value === true) ?? (items.length === 1 ? items[0] : undefined));
    if (found !== undefined) return found;
  }
  return undefined;
}

export function checkRunnable(input: ValidationInput, opts: RunnableOptions = {}): RunnableReport {
  const errors: Diagnostic[] = [];
  const warnings: Diagnostic[] = [];
  const file = (s: Statement): string => input.fileOf?.(s) ?? input.file.path;
  // Many skills name the same binary: each is looked up once per check.
  const which = pathLookup((opts.env ?? process.env).PATH);
  const notOnPath = (s: Statement, pos: Pos, what: string, binary: string): void => {
    if (binary === '' || which(binary) !== undefined) return;
    warnings.push(warningAt(file(s), pos, `${what} ${q(binary)} is not on PATH here`, 'install it, or make sure it is on PATH where the runtime runs (apply and run fail without it)'));
  };
  for (const s of input.statements) {
    if (s.kind === 'agent') {
      const model = s.model?.value ?? '';
      const reason = model === '' ? undefined : unknownModelReason(model);
      if (reason !== undefined) errors.push(diagnosticAt(file(s), s.model!.valuePos, `agent ${q(s.name)}: ${reason}`, MODEL_NAMING_HINT));
      const strategy = s.memory?.strategy;
      if (strategy !== undefined && !(MEMORY_STRATEGIES as readonly string[]).includes(strategy.value)) {
        errors.push(diagnosticAt(file(s), strategy.valuePos, `agent ${q(s.name)}: memory strategy ${q(strategy.value)} is not one of ${MEMORY_STRATEGIES.join(', ')}`));
      }
      const max = s.memory?.maxMessages;
      if (max !== undefined && !(max.value > 0)) errors.push(diagnosticAt(file(s), max.valuePos, `agent ${q(s.name)}: memory max_messages must be a positive integer, got ${max.text}`));
    } else if (s.kind === 'skill' && s.tool?.type === 'command') {
      notOnPath(s, s.tool.binary?.valuePos ?? s.tool.pos, `skill ${q(s.name)}: binary`, s.tool.binary?.value ?? '');
    } else if (s.kind === 'server' && (s.transport?.value ?? '') === 'stdio') {
      notOnPath(s, s.command?.valuePos ?? s.pos, `server ${q(s.name)}: command`, s.command?.value ?? '');
    }
  }
  if (opts.deploy === undefined) return { errors, warnings };
  const targets = targetsOf(input.statements);
  const chosen = chosenTarget(targets, opts.deploy.target);
  for (const t of targets) {
    const label = `${t.stmt.kind === 'binding' ? 'binding' : 'deploy target'} ${q(t.stmt.name)}`;
    const known = (REGISTERED_ADAPTERS as readonly string[]).includes(t.adapter);
    if (known && (DEPLOYABLE_ADAPTERS as readonly string[]).includes(t.adapter)) continue;
    const problem = known
      ? `${label}: adapter ${q(t.adapter)} is not supported yet: apply deploys only with ${DEPLOYABLE_ADAPTERS.join(', ')}`
      : `${label}: unknown adapter ${q(t.adapter)} (known: ${REGISTERED_ADAPTERS.join(', ')})`;
    if (t === chosen) errors.push(diagnosticAt(file(t.stmt), t.pos, problem, 'deploy with a process target, or choose another with --target'));
    else warnings.push(warningAt(file(t.stmt), t.pos, problem, `apply --target ${t.stmt.name} would fail`));
  }
  return { errors, warnings };
}
