/** Plans: traced, serialisable op graphs sent to workers and run there by reference (seed 002, §2). */
export { Plan, type PlanOptions, type PlanInit } from './plan.js';
export { func2plan, type Func2PlanOptions } from './func2plan.js';
export { PlanPointer, type PlanPointerInit, type PlanTrainOptions, type PlanTrainResult, type PlanPointerState } from './plan-pointer.js';
export { trainingPlan, type TrainingPlanOptions, type TrainingLoss } from './training-plan.js';
export { F, type Functional } from './functional.js';
export { nn, Layer, Linear, Sequential, type ParamSpec } from './nn.js';
export { TracedTensor, isTraced } from './trace.js';
export { PlanBuildError, PlanNotBuiltError } from './plan-errors.js';
export { PlanOpError, PlanLoopError, type PlanLoopOptions } from '../../actors/index.js';
