export {
  attributeChanges,
  computePlan,
  entriesOfPackages,
  hasChanges,
  packageOf,
  type ActionKind,
  type AttributeChange,
  type Plan,
  type PlanInput,
  type PlanSummary,
  type PlannedAction,
} from './compute.ts';
export { planToJson, renderPlan, summaryLine, type RenderOptions } from './render.ts';
