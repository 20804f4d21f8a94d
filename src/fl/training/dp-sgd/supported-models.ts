/**
 * Whether DP-SGD can take per-example gradients through a `layers` model, read from its
 * Keras topology alone (no tensor is made), so a run and a scenario file's check can refuse
 * the model before any client trains. It applies the rules layer-program.ts applies when it
 * builds the program (which stays the final word: it also checks that the layers form a chain
 * and that each layer's weights are what its class says).
 *
 * The built-in kinds (linear, logistic, mlp, cnn) are always supported.
 */
import type { LayersSpec } from '../../models/spec.js';
import { SUPPORTED_STATELESS_LAYERS, SUPPORTED_SUMMARY } from './layer-program.js';

interface KerasLayer {
  class_name?: unknown;
  config?: { name?: unknown; padding?: unknown; data_format?: unknown; dilation_rate?: unknown; trainable?: unknown };
}

/** The first layer DP-SGD cannot go through, as a problem at `layers[i]`, or undefined. */
export function dpSgdLayersProblem(spec: LayersSpec): { path: (string | number)[]; expected: string; found: string } | undefined {
  const layers = ((spec.topology.config as { layers?: unknown } | undefined)?.layers ?? []) as KerasLayer[];
  for (const [i, layer] of layers.entries()) {
    const className = String(layer.class_name);
    const found = `${className} '${String(layer.config?.name)}'`;
    const at = ['topology', 'config', 'layers', i];
    if (className === 'Dense') continue;
    if (className === 'Conv2D') {
      const c = layer.config ?? {};
      const dilation = Array.isArray(c.dilation_rate) ? c.dilation_rate : [c.dilation_rate ?? 1];
      if (c.padding !== 'same' && c.padding !== 'valid') return { path: [...at, 'config', 'padding'], expected: "padding 'same' or 'valid' for DP-SGD's per-example gradients", found: JSON.stringify(c.padding) };
      if (c.data_format !== undefined && c.data_format !== 'channels_last') return { path: [...at, 'config', 'data_format'], expected: "'channels_last' (NHWC) for DP-SGD's per-example gradients", found: JSON.stringify(c.data_format) };
      if (dilation.some((d) => d !== 1)) return { path: [...at, 'config', 'dilation_rate'], expected: 'dilation 1: tfjs differentiates conv2d only with dilation 1', found: JSON.stringify(c.dilation_rate) };
      continue;
    }
    if (!SUPPORTED_STATELESS_LAYERS.includes(className)) {
      const why = className === 'BatchNormalization' ? ' (it normalises each example with statistics of the whole batch, so an example has no gradient of its own)' : '';
      return { path: at, expected: `a layer DP-SGD can take per-example gradients through${why}: ${SUPPORTED_SUMMARY}`, found };
    }
  }
  return undefined;
}
