/**
 * The fused trainer's parameters in wasm memory: each weight tensor (a dense kernel, a conv
 * filter, a bias) as one block of the weights followed by the parallel buffers its update rule
 * reads (Slot: FedProx anchor, affine-term anchor and offset, momentum, Adam's second moment),
 * and the optimiser config in the kernels' terms. Shared by the dense and the conv layers, which
 * all update through the same kernel (denseUpdate).
 */
import { Slot, UpdateRule, type WasmArena } from '../../runtime/fused-dense/module.js';
import type { AffineGradientTerm } from './affine-terms.js';
import type { OptimizerConfig } from './optimizers.js';

/** A parameter's block: where its weights start and the bytes between its parallel buffers. */
export interface PlacedParameter {
  at: number;
  stride: number;
  /** How many weights (the buffers are padded to a multiple of 4). */
  size: number;
}

/** The optimiser config as the kernels' setUpdate reads it. */
export interface UpdateSettings {
  rule: number;
  momentum: number;
  beta2: number;
  epsilon: number;
}

export function updateSettingsOf(optimizer: OptimizerConfig | undefined): UpdateSettings {
  if (optimizer === undefined || optimizer === 'sgd') return { rule: UpdateRule.sgd, momentum: 0, beta2: 0, epsilon: 0 };
  if (optimizer.name === 'adam') return { rule: UpdateRule.adam, momentum: optimizer.beta1 ?? 0.9, beta2: optimizer.beta2 ?? 0.999, epsilon: optimizer.epsilon ?? 1e-8 };
  const momentum = optimizer.momentum ?? 0;
  return { rule: momentum > 0 ? (optimizer.nesterov ? UpdateRule.nesterov : UpdateRule.momentum) : UpdateRule.sgd, momentum, beta2: 0, epsilon: 0 };
}

type Buffers = Partial<Record<Exclude<keyof typeof Slot, 'weights' | 'count'>, Float32Array | 'zeros'>>;

/**
 * Places one parameter's block: its weights, and each parallel buffer the call uses (the rest
 * keep whatever the memory held; the kernels never read them).
 */
function placeParameter(arena: WasmArena, values: Float32Array, buffers: Buffers): PlacedParameter {
  const stride = Math.ceil(values.length / 4) * 16;
  const at = arena.alloc((stride / 4) * Slot.count);
  arena.f32(at, values.length).set(values);
  for (const [slot, content] of Object.entries(buffers)) {
    if (content === undefined) continue;
    const view = arena.f32(at + Slot[slot as keyof Buffers] * stride, values.length);
    if (content === 'zeros') view.fill(0);
    else view.set(content);
  }
  return { at, stride, size: values.length };
}

/**
 * A function placing weight tensor `index` (weight order) with the buffers this call needs:
 * FedProx's anchor (w_global, or the starting weights when none is given), the affine term's
 * anchor and offset, zeroed optimiser state.
 */
export function parameterPlacer(
  arena: WasmArena,
  weights: readonly Float32Array[],
  update: UpdateSettings,
  proxMu: number,
  globalWeights: readonly Float32Array[] | undefined,
  term: AffineGradientTerm | undefined,
): (index: number) => PlacedParameter {
  const proxAnchors = proxMu > 0 ? globalWeights ?? weights : undefined;
  return (index) =>
    placeParameter(arena, weights[index], {
      proxAnchor: proxAnchors?.[index],
      termAnchor: term?.pull?.anchor[index],
      termOffset: term?.offset?.[index],
      velocity: update.rule !== UpdateRule.sgd ? 'zeros' : undefined,
      secondMoment: update.rule === UpdateRule.adam ? 'zeros' : undefined,
    });
}

/** The current weights of a placed parameter (a copy). */
export function readParameter(arena: WasmArena, parameter: PlacedParameter): Float32Array {
  return arena.f32(parameter.at, parameter.size).slice();
}
