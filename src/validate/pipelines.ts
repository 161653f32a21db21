import type { AgentStmt, Pos, PipelineStmt, Statement } from '../lang/ast.ts';
import { ExpressionSyntaxError, parseWhen, rootVariables, WHEN_VARIABLES, type Expr } from '../lang/expression.ts';
import type { Diagnostic } from '../lang/diagnostics.ts';
import { findCycle } from '../lang/graph.ts';
import { q, Reporter, type ValidationInput } from './context.ts';

/**
 * What would make a pipeline or a delegation loop or fail at run time: steps that depend on each
 * other in a cycle, a step `when` that does not parse, agents that delegate (or fall back) to
 * each other in a cycle. Unknown steps and agents are reported by the structural and semantic passes.
 */
export function validatePipelines(input: ValidationInput): Diagnostic[] {
  const r = new Reporter(input);
  for (const s of input.statements) if (s.kind === 'pipeline') pipeline(r, s);
  agentCycles(r, input.statements.filter((s): s is AgentStmt => s.kind === 'agent'));
  return r.diagnostics;
}

const WHEN_ROOTS: ReadonlySet<string> = new Set(WHEN_VARIABLES);
const WHEN_HINT = 'a condition reads trigger.FIELD, input or steps.NAME.output / .status, compared with == != > >= < <= matches contains and joined by and / or / not (docs/on-input.md, "Expressions")';

function pipeline(r: Reporter, p: PipelineStmt): void {
  const byName = new Map(p.steps.map((s) => [s.name, s]));
  // A step depending on itself is reported by the structural pass; longer cycles only here.
  const deps = (n: string): string[] => (byName.get(n)?.dependsOn?.value ?? []).filter((d) => d !== n && byName.has(d));
  const cycle = findCycle([...byName.keys()], deps);
  if (cycle !== undefined) {
    const first = byName.get(cycle[0] ?? '');
    r.at(p, first?.namePos ?? p.pos, `pipeline ${q(p.name)}: steps depend on each other in a cycle: ${cycle.join(' -> ')}`, 'remove one of these depends_on entries');
  }
  for (const step of p.steps) {
    const when = step.when;
    if (when === undefined || when.value.trim() === '') continue;
    let condition: Expr;
    try {
      condition = parseWhen(when.value);
    } catch (err) {
      if (!(err instanceof ExpressionSyntaxError)) throw err;
      r.at(p, when.valuePos, `step ${q(step.name)}: when: condition ${JSON.stringify(when.value)}: ${err.message}`, WHEN_HINT);
      continue;
    }
    for (const v of rootVariables(condition)) {
      if (!WHEN_ROOTS.has(v.name)) r.at(p, when.valuePos, `step ${q(step.name)}: when: unknown name ${q(v.name)} at column ${v.column}`, WHEN_HINT);
    }
    for (const s of stepsRead(condition)) {
      if (!byName.has(s.name)) r.at(p, when.valuePos, `step ${q(step.name)}: when: steps.${s.name} is not a step of pipeline ${q(p.name)} (column ${s.column})`, WHEN_HINT);
    }
  }
}

/** The step names a condition reads as `steps.NAME` or `steps["NAME"]`, each with its column. */
function stepsRead(e: Expr, out: Array<{ name: string; column: number }> = []): Array<{ name: string; column: number }> {
  const fromSteps = (object: Expr): boolean => object.kind === 'var' && object.name === 'steps';
  switch (e.kind) {
    case 'literal':
    case 'var':
      break;
    case 'member':
      if (fromSteps(e.object)) out.push({ name: e.name, column: e.column });
      else stepsRead(e.object, out);
      break;
    case 'index':
      if (fromSteps(e.object) && e.index.kind === 'literal' && typeof e.index.value === 'string') out.push({ name: e.index.value, column: e.column });
      else stepsRead(e.object, out);
      stepsRead(e.index, out);
      break;
    case 'list':
      for (const i of e.items) stepsRead(i, out);
      break;
    case 'call':
      for (const a of e.args) stepsRead(a, out);
      break;
    case 'not':
      stepsRead(e.operand, out);
      break;
    case 'logical':
    case 'binary':
      stepsRead(e.left, out);
      stepsRead(e.right, out);
      break;
  }
  return out;
}

interface Edge {
  to: string;
  via: 'delegate' | 'fallback';
  pos: Pos;
}

/** Every distinct cycle of delegate and fallback edges, each reported once at the edge that closes it. */
function agentCycles(r: Reporter, agents: AgentStmt[]): void {
  const byName = new Map(agents.map((a) => [a.name, a]));
  const edges = new Map<string, Edge[]>();
  for (const a of agents) {
    const out: Edge[] = [];
    for (const d of a.delegates) {
      if (d.agent === a.name) r.at(a, d.toPos, `agent ${q(a.name)} cannot delegate to itself`);
      else if (byName.has(d.agent)) out.push({ to: d.agent, via: 'delegate', pos: d.toPos });
    }
    const fb = a.fallback;
    // Falling back to itself is the semantic pass's error.
    if (fb !== undefined && fb.value !== a.name && byName.has(fb.value)) out.push({ to: fb.value, via: 'fallback', pos: fb.pos });
    edges.set(a.name, out);
  }
  for (;;) {
    const cycle = findCycle([...byName.keys()], (n) => (edges.get(n) ?? []).map((e) => e.to));
    if (cycle === undefined) return;
    const from = cycle[cycle.length - 2] ?? '';
    const to = cycle[cycle.length - 1] ?? '';
    const list = edges.get(from) ?? [];
    const closing = list.find((e) => e.to === to);
    const hops = cycle.slice(1).map((n, i) => (edges.get(cycle[i] ?? '') ?? []).find((e) => e.to === n)?.via ?? 'delegate');
    const what = hops.every((v) => v === 'fallback') ? 'fallback' : 'delegation';
    const path = cycle.map((n, i) => (i === 0 ? n : `${hops[i - 1] === 'fallback' ? '-(fallback)->' : '->'} ${n}`)).join(' ');
    r.at(byName.get(from) as Statement | undefined, closing?.pos ?? { line: 1, column: 1 }, `${what} cycle: ${path}`, what === 'fallback' ? 'a fallback chain must end at an agent without a fallback' : 'an agent must not be able to reach itself through delegates (and fallbacks)');
    // Drop the closing edge so the next search finds another cycle, not this one again.
    edges.set(from, list.filter((e) => e !== closing));
  }
}
