import type { File, Statement } from '../lang/ast.ts';
import type { Diagnostic } from '../lang/diagnostics.ts';
import type { ValidationInput } from './context.ts';
import { validateEnvironments } from './environment.ts';
import { validateExpressions } from './expressions.ts';
import { validatePipelines } from './pipelines.ts';
import { validatePolicies } from './policies.ts';
import { validateSemantic } from './semantic.ts';
import { validateStructural } from './structural.ts';

export type { ValidationInput } from './context.ts';
export { validateStructural } from './structural.ts';
export { validateSemantic, templateVariables } from './semantic.ts';
export { validateEnvironments } from './environment.ts';
export { validatePipelines } from './pipelines.ts';
export { validateExpressions } from './expressions.ts';
export { documentPolicyFindings, enforcePolicies, PolicyViolationError, validatePolicies } from './policies.ts';
export { checkRunnable, type RunnableOptions, type RunnableReport } from './runnable.ts';
export { suggestName, byteLevenshtein } from './suggest.ts';

/**
 * Every check of REFERENCE section 4 after parsing: structural, then semantic, then pipeline and
 * delegation cycles and the expressions of `on input` and rules, then the environment checks,
 * each in file order, then the package's policies (docs/policies.md). `statements` defaults to
 * the file's own; pass the merged list to validate a root together with what it imports.
 */
export function validateFile(
  file: File,
  statements: readonly Statement[] = file.statements,
  fileOf?: (stmt: Statement) => string,
): Diagnostic[] {
  const input: ValidationInput = fileOf === undefined ? { file, statements } : { file, statements, fileOf };
  return [
    ...validateStructural(input),
    ...validateSemantic(input),
    ...validatePipelines(input),
    ...validateExpressions(input),
    ...validateEnvironments(input),
    ...validatePolicies(input),
  ];
}
