export { compileExpression, compileOnInput, configValues, objectOf, type CompiledExpr, type CompiledOnInput, type OnInputStatement } from './compile.ts';
export { AgentLogicError, evaluateIn, ExpressionError, InvalidAgentLogicError, OnInputError } from './errors.ts';
export { MAX_FOR_EACH_ITEMS, MAX_ON_INPUT_ACTIONS, runOnInput, stepsContext, type OnInputContext, type OnInputOutcome, type StepResult } from './run.ts';
