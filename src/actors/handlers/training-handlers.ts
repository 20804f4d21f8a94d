/** The handlers of the remote-training messages (model-messages.ts), by message type. */
import type { ModelMessageType, PayloadOf } from '../../messages/index.js';
import type { Turn } from '../worker-state.js';
import { handleModel, handleModelCopy, handleModelDelete, handleModelForward } from './models.js';
import { handleOptimizer, handleOptimizerDelete, handleOptimizerStep, handleOptimizerZeroGrad } from './optimizers.js';
import { handlePermutation } from './permutation.js';

export const TRAINING_HANDLERS: { [T in ModelMessageType]: (turn: Turn, payload: PayloadOf<T>) => void } = {
  model: handleModel,
  modelForward: handleModelForward,
  modelCopy: handleModelCopy,
  modelDelete: handleModelDelete,
  optimizer: handleOptimizer,
  optimizerStep: handleOptimizerStep,
  optimizerZeroGrad: handleOptimizerZeroGrad,
  optimizerDelete: handleOptimizerDelete,
  permutation: handlePermutation,
};
