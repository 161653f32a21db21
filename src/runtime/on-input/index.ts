export { compileExpression, compileOnInput, configValues, InvalidAgentLogicError, type CompiledExpr, type CompiledOnInput, type OnInputStatement } from './compile.ts';
export { asText, evaluate, evaluateCondition, EvalFailure, ExpressionError, renderTemplate, type Scope } from './evaluate.ts';
export { MAX_FOR_EACH_ITEMS, MAX_ON_INPUT_ACTIONS, OnInputError, runOnInput, stepsContext, type OnInputContext, type OnInputOutcome, type StepResult } from './run.ts';
