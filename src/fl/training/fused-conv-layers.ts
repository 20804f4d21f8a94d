/**
 * The convolutional front of the built-in cnn in the fused kernels: conv k×k 'same' + bias +
 * ReLU, 2×2 max-pool, conv k×k 'same' + bias + ReLU, 2×2 max-pool (builtin-model.ts), NHWC
 * throughout, so its output [B, H/4·W/4·F2] is what the dense head reads.
 *
 * Each convolution is a GEMM over its input patches (assembly/fused-conv.ts: im2col, then
 * denseForward over [B·H·W, k·k·C] × [k·k·C, F]); backward, its filter is updated by denseUpdate
 * over the same patches, and the second convolution's input gradient is its patch gradients
 * (denseForward of the output gradient by the transposed filter, with a zero bias) folded back by
 * col2im. The first convolution needs no input gradient.
 */
import type { FusedDenseKernels, WasmArena } from '../../runtime/fused-dense/module.js';
import type { CnnSpec } from '../models/spec.js';
import { type PlacedParameter, readParameter } from './fused-parameters.js';

/** One conv + ReLU + max-pool stage, with its buffers for one batch. */
interface ConvStage {
  height: number;
  width: number;
  channels: number;
  filters: number;
  filter: PlacedParameter;
  bias: PlacedParameter;
  /** The input's patches [B·H·W, k·k·C]. */
  patches: number;
  /** The convolution's ReLU'd output [B, H, W, F] and its gradient. */
  activations: number;
  activationGradient: number;
  /** The max-pool's output [B, ⌊H/2⌋, ⌊W/2⌋, F], its gradient, and where each maximum came from. */
  pooled: number;
  pooledGradient: number;
  argmax: number;
}

export class FusedConvLayers {
  private readonly stages: ConvStage[];
  private readonly size: number;
  /** tfjs's 'same' padding at stride 1: ⌊(k − 1)/2⌋ at the top and left, the rest bottom and right. */
  private readonly pad: number;
  /** The second convolution's patch gradients [B·H₁·W₁, k·k·F1], its filter transposed [F2, k·k·F1], and k·k·F1 zeros. */
  private readonly patchGradient: number;
  private readonly filterTransposed: number;
  private readonly zeros: number;

  /** Places weight tensors 0–3 of `spec`'s model and the buffers for batches of up to `batch` images. */
  constructor(
    private readonly kernels: FusedDenseKernels,
    arena: WasmArena,
    spec: CnnSpec,
    place: (index: number) => PlacedParameter,
    batch: number,
  ) {
    const [h, w, c] = spec.inputShape;
    this.size = spec.kernelSize;
    this.pad = Math.floor((spec.kernelSize - 1) / 2);
    const stage = (height: number, width: number, channels: number, filters: number, weight: number): ConvStage => {
      const pixels = batch * height * width;
      const pooledCount = batch * Math.floor(height / 2) * Math.floor(width / 2) * filters;
      return {
        height,
        width,
        channels,
        filters,
        filter: place(weight),
        bias: place(weight + 1),
        patches: arena.alloc(pixels * this.size * this.size * channels),
        activations: arena.alloc(pixels * filters),
        activationGradient: arena.alloc(pixels * filters),
        pooled: arena.alloc(pooledCount),
        pooledGradient: arena.alloc(pooledCount),
        argmax: arena.alloc(pooledCount),
      };
    };
    const first = stage(h, w, c, spec.filters[0], 0);
    const second = stage(Math.floor(h / 2), Math.floor(w / 2), spec.filters[0], spec.filters[1], 2);
    this.stages = [first, second];
    const patchWidth = this.size * this.size * second.channels;
    this.patchGradient = arena.alloc(batch * second.height * second.width * patchWidth);
    this.filterTransposed = arena.alloc(second.filters * patchWidth);
    this.zeros = arena.alloc(patchWidth);
    arena.f32(this.zeros, patchWidth).fill(0);
  }

  /** Where the head writes the gradient with respect to this front's output. */
  get outputGradient(): number {
    return this.stages[1].pooledGradient;
  }

  /** Runs both stages on images [rows, H, W, C]; returns the offset of the pooled features. */
  forward(images: number, rows: number): number {
    let input = images;
    for (const s of this.stages) {
      const k = this.kernels;
      k.im2col(input, s.patches, rows, s.height, s.width, s.channels, this.size, this.pad);
      k.denseForward(s.patches, s.filter.at, s.bias.at, s.activations, rows * s.height * s.width, this.size * this.size * s.channels, s.filters, true);
      k.maxPool(s.activations, s.pooled, s.argmax, rows, s.height, s.width, s.filters);
      input = s.pooled;
    }
    return input;
  }

  /**
   * From outputGradient (already masked by the ReLU, see FusedDenseLayers.backward), updates both
   * convolutions: pool gradient → conv2 (input gradient first, then its update) → col2im with
   * the first stage's ReLU mask → pool gradient → conv1's update.
   */
  backward(rows: number): void {
    const k = this.kernels;
    const [first, second] = this.stages;
    this.poolBackward(second, rows);
    // The first stage's gradient uses conv2's filter before it is updated; col2im applies the ReLU mask.
    const pixels = rows * second.height * second.width;
    const patchWidth = this.size * this.size * second.channels;
    k.transpose(second.filter.at, this.filterTransposed, patchWidth, second.filters);
    k.denseForward(second.activationGradient, this.filterTransposed, this.zeros, this.patchGradient, pixels, second.filters, patchWidth, false);
    this.update(second, rows);
    k.col2im(this.patchGradient, first.pooled, first.pooledGradient, rows, second.height, second.width, second.channels, this.size, this.pad);
    this.poolBackward(first, rows);
    this.update(first, rows);
  }

  /** A stage's pooled gradient back to its convolution's outputs (0 where no maximum came from). */
  private poolBackward(s: ConvStage, rows: number): void {
    const pooledCount = rows * Math.floor(s.height / 2) * Math.floor(s.width / 2) * s.filters;
    this.kernels.maxPoolBackward(s.pooledGradient, s.argmax, s.activationGradient, pooledCount, rows * s.height * s.width * s.filters);
  }

  /** A stage's filter and bias update: the weight gradient is patchesᵀ · activationGradient. */
  private update(s: ConvStage, rows: number): void {
    this.kernels.denseUpdate(s.patches, s.activationGradient, s.filter.at, s.bias.at, rows * s.height * s.width, this.size * this.size * s.channels, s.filters, s.filter.stride, s.bias.stride);
  }

  /** The convolutions' current weights, in weight order (conv1 filter, bias, conv2 filter, bias). */
  weights(arena: WasmArena): Float32Array[] {
    return this.stages.flatMap((s) => [readParameter(arena, s.filter), readParameter(arena, s.bias)]);
  }
}
