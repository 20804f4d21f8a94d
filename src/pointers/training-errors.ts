/**
 * Mistakes with remote models and optimisers that the pointer layer catches before
 * any message is sent. (Failures on a worker arrive as RemoteErrors whose
 * `remoteName` is one of TRAINING_ERROR_NAMES: ModelNotFoundError, ForwardShapeError, …)
 */
import { FedsimError } from '../runtime/index.js';

/** A model, its data or its optimiser are not where they need to be (different workers, or `me`). */
export class ModelLocationError extends FedsimError {
  override name = 'ModelLocationError';
}

/** The data given to `modelPtr.forward(x)` does not have the shape the model takes. */
export class ForwardShapeError extends FedsimError {
  override name = 'ForwardShapeError';
}

/** `optims.getOptim(worker)` for a worker it has no optimiser for. */
export class OptimsError extends FedsimError {
  override name = 'OptimsError';
}
