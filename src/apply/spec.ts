import { UsageError } from '../errors.ts';
import { compileSpec, SpecInvalidError, type IRDocument } from '../ir/index.ts';
import type { Diagnostic } from '../lang/diagnostics.ts';
import type { PackageSpec } from './engine.ts';
import { chooseTarget } from './target.ts';

export interface LoadOptions {
  env?: string;
  target?: string;
  /** Check that the spec's target can be deployed (plan, apply). */
  checkDeploy?: boolean;
  /** Receives the warnings (e.g. a binary not on PATH here); they do not stop anything. */
  onWarnings?: (warnings: Diagnostic[]) => void;
}

/**
 * Load, validate and lower the spec. A spec with errors is never planned or applied:
 * SpecInvalidError carries every diagnostic (FILE:LINE:COL) to the user.
 */
export async function loadDocuments(paths: string[], opts: LoadOptions = {}): Promise<IRDocument[]> {
  const r = await compileSpec(paths, {
    ...(opts.env === undefined ? {} : { env: opts.env }),
    ...(opts.checkDeploy === true ? { deploy: opts.target === undefined ? {} : { target: opts.target } } : {}),
  });
  if (r.warnings.length > 0) opts.onWarnings?.(r.warnings);
  if (r.diagnostics.length > 0) throw new SpecInvalidError(r.diagnostics);
  const seen = new Set<string>();
  for (const doc of r.documents) {
    if (seen.has(doc.package.name)) {
      throw new UsageError(`package "${doc.package.name}" is given more than once; give each package's files once`);
    }
    seen.add(doc.package.name);
  }
  return r.documents;
}

/** Documents with the deploy target each one is applied to (REFERENCE 3.7). */
export async function loadPackages(paths: string[], opts: LoadOptions = {}): Promise<PackageSpec[]> {
  const docs = await loadDocuments(paths, opts);
  return docs.map((document) => ({ name: document.package.name, document, target: chooseTarget(document, opts.target) }));
}
