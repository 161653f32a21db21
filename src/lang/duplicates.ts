import { DUPLICATE_KIND_NAME, type Statement } from './ast.ts';
import { diagnosticAt, type Diagnostic } from './diagnostics.ts';

/**
 * Remembers the names declared per kind. `check` returns a diagnostic for a statement whose
 * kind already has that name (reported at the token after the name), undefined otherwise.
 * Imports and plugins are never duplicates; the same name in two kinds is fine.
 */
export class DuplicateNames {
  private readonly seen = new Map<string, Set<string>>();

  check(stmt: Statement, file: string): Diagnostic | undefined {
    if (stmt.kind === 'import') return undefined;
    const kindName = DUPLICATE_KIND_NAME[stmt.kind];
    if (kindName === undefined) return undefined;
    let names = this.seen.get(stmt.kind);
    if (names === undefined) {
      names = new Set();
      this.seen.set(stmt.kind, names);
    }
    if (!names.has(stmt.name)) {
      names.add(stmt.name);
      return undefined;
    }
    return diagnosticAt(
      file,
      stmt.nameEndPos,
      `duplicate ${kindName} name ${JSON.stringify(stmt.name)}`,
      `${kindName} names must be unique within their kind`,
    );
  }
}
