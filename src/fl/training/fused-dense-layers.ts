/**
 * A stack of dense layers in the fused kernels (ReLU between them, none on top): the whole of a
 * linear / logistic / mlp model, and the head of the built-in cnn. Places the layers' parameters
 * and buffers, runs the forward pass and the backward pass with the update applied as each
 * layer's weight gradient is summed (denseUpdate).
 */
import type { FusedDenseKernels, WasmArena } from '../../runtime/fused-dense/module.js';
import { type PlacedParameter, readParameter } from './fused-parameters.js';

interface DenseLayer {
  inputs: number;
  outputs: number;
  kernel: PlacedParameter;
  bias: PlacedParameter;
  /** The layer's output activations for one batch, [B, outputs]. */
  activations: number;
}

export class FusedDenseLayers {
  private readonly layers: DenseLayer[] = [];
  /** Two gradient buffers, used in turn from the top layer down; the loss writes the first. */
  private readonly gradients: [number, number];

  /**
   * Places the layers whose [inputs, outputs] kernels are `shapes` (kernel and bias alternate),
   * the first being weight tensor `firstWeight` of the model, for batches of up to `batch` rows.
   */
  constructor(
    private readonly kernels: FusedDenseKernels,
    arena: WasmArena,
    shapes: readonly (readonly number[])[],
    firstWeight: number,
    place: (index: number) => PlacedParameter,
    batch: number,
  ) {
    let widest = 0;
    for (let w = 0; w < shapes.length; w += 2) {
      const [inputs, outputs] = shapes[w];
      widest = Math.max(widest, outputs);
      const kernel = place(firstWeight + w);
      const bias = place(firstWeight + w + 1);
      this.layers.push({ inputs, outputs, kernel, bias, activations: arena.alloc(batch * outputs) });
    }
    this.gradients = [arena.alloc(batch * widest), arena.alloc(batch * widest)];
  }

  /** Where the loss writes its gradient with respect to the outputs, [B, outputs]. */
  get outputGradient(): number {
    return this.gradients[0];
  }

  /** Runs the layers on `input` [rows, inputs]; returns the outputs' offset, [rows, outputs]. */
  forward(input: number, rows: number): number {
    let below = input;
    for (const [l, layer] of this.layers.entries()) {
      this.kernels.denseForward(below, layer.kernel.at, layer.bias.at, layer.activations, rows, layer.inputs, layer.outputs, l + 1 < this.layers.length);
      below = layer.activations;
    }
    return below;
  }

  /**
   * Backpropagates outputGradient through the layers, updating each. With `inputGradient`, also
   * writes the gradient with respect to `input` there, masked by [input > 0] (the input is a
   * ReLU'd activation, e.g. the cnn's last pooled features).
   */
  backward(input: number, rows: number, inputGradient?: number): void {
    for (let l = this.layers.length - 1, g = 0; l >= 0; l--, g ^= 1) {
      const layer = this.layers[l];
      const below = l > 0 ? this.layers[l - 1].activations : input;
      const gradientBelow = l > 0 ? this.gradients[g ^ 1] : inputGradient;
      // The gradient for the layer below uses this layer's weights before they are updated.
      if (gradientBelow !== undefined) this.kernels.backpropInput(this.gradients[g], layer.kernel.at, below, gradientBelow, rows, layer.inputs, layer.outputs);
      this.kernels.denseUpdate(below, this.gradients[g], layer.kernel.at, layer.bias.at, rows, layer.inputs, layer.outputs, layer.kernel.stride, layer.bias.stride);
    }
  }

  /** The layers' current weights, in weight order. */
  weights(arena: WasmArena): Float32Array[] {
    return this.layers.flatMap((layer) => [readParameter(arena, layer.kernel), readParameter(arena, layer.bias)]);
  }
}
