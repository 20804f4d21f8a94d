/**
 * Floating-point work of one training sample of fedsim's built-in models, to express a
 * throughput as a fraction of the machine's fp32 peak.
 *
 * Counted: the products of the dense layers (in·out multiply-adds per sample) and of the
 * convolutions (outH·outW·k²·cin·cout, 'same' padding, stride 1), a multiply-add being 2 FLOP.
 * One training sample needs each product three times — forward, the weight gradient and the
 * input gradient — except the first layer's input gradient, which nobody needs and neither
 * framework computes (tfjs prunes it from the tape, autograd never asks for it). So
 * training = 2 × (3 × multiplyAdds − first layer's multiplyAdds). The textbook estimate
 * 6 × multiplyAdds (`conventional`) overstates the 2NN's work by 36%, McMahan's CNN's by 2%, the
 * LeNet-sized CNN's by 6%.
 * Bias adds, ReLU, pooling, softmax and the SGD update are left out: O(activations +
 * parameters/B), a few percent at most.
 */
import type { BuiltinSpec } from '../src/fl/models/spec.js';

export interface SampleFlops {
  /** Multiply-adds of one forward pass. */
  multiplyAdds: number;
  /** FLOP of one forward pass (2 × multiplyAdds). */
  forward: number;
  /** FLOP of one training sample: forward, weight gradients, input gradients but the first layer's. */
  training: number;
  /** 6 × multiplyAdds, the usual estimate (counts the first layer's input gradient). */
  conventional: number;
}

export function sampleFlops(spec: BuiltinSpec): SampleFlops {
  let macs = 0;
  let first = 0;
  switch (spec.kind) {
    case 'linear':
      macs = first = spec.inputs * spec.outputs;
      break;
    case 'logistic':
      macs = first = spec.inputs * spec.classes;
      break;
    case 'mlp':
      for (let i = 0; i + 1 < spec.layers.length; i++) macs += spec.layers[i] * spec.layers[i + 1];
      first = spec.layers[0] * spec.layers[1];
      break;
    case 'cnn': {
      const [h, w, c0] = spec.inputShape;
      const [f1, f2] = spec.filters;
      const k2 = spec.kernelSize * spec.kernelSize;
      const [h2, w2] = [Math.floor(h / 2), Math.floor(w / 2)];
      const flat = Math.floor(h2 / 2) * Math.floor(w2 / 2) * f2;
      first = h * w * k2 * c0 * f1;
      macs = first + h2 * w2 * k2 * f1 * f2 + flat * spec.hidden + spec.hidden * spec.classes;
      break;
    }
  }
  return { multiplyAdds: macs, forward: 2 * macs, training: 2 * (3 * macs - first), conventional: 6 * macs };
}
