/**
 * A cycle in a directed graph given as `node -> successors`, as the path of nodes that closes it
 * (`[a, b, a]`), or undefined. Nodes are visited in the order given, so the same graph always
 * reports the same cycle. Used for pipeline steps (`depends_on`) and agents (delegate, fallback).
 */
export function findCycle(nodes: readonly string[], successors: (node: string) => readonly string[]): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (n: string): string[] | undefined => {
    const s = state.get(n);
    if (s === 'done') return undefined;
    if (s === 'open') return [...path.slice(path.indexOf(n)), n];
    state.set(n, 'open');
    path.push(n);
    for (const next of successors(n)) {
      const cycle = visit(next);
      if (cycle !== undefined) return cycle;
    }
    path.pop();
    state.set(n, 'done');
    return undefined;
  };
  for (const n of nodes) {
    const cycle = visit(n);
    if (cycle !== undefined) return cycle;
  }
  return undefined;
}
