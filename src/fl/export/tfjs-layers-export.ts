/**
 * A fedsim model as a tfjs-layers model: `model.json` (format "layers-model": the Keras
 * topology and a weights manifest) and one `weights.bin` (every weight as float32
 * little-endian, in manifest order), the files `tf.loadLayersModel('file://…/model.json')`
 * (tfjs-node) or `tf.io.fromMemory` / an http server (browser) read.
 *
 * Built-in specs become an equivalent `tf.sequential` whose layers are named after fedsim's
 * parameters, so each weight keeps its name and layout (tfjs, like fedsim, keeps dense
 * kernels as [in, out] and conv kernels as HWIO [height, width, in, out]):
 *
 *   linear, logistic   Dense(out)                                    input [inputs]
 *   mlp                Dense(relu) … Dense (last without activation) input [layers[0]]
 *   cnn                Conv2D('same', relu) MaxPool(2) Conv2D('same', relu) MaxPool(2)
 *                      Flatten Dense(hidden, relu) Dense(classes)      input [h, w, c] (NHWC)
 *
 * The output is what fedsim's `forward` returns: logits (regression values for `linear`).
 * No softmax is added — fedsim trains on logits with softmax cross-entropy; apply
 * `tf.softmax` to the predictions for probabilities. (The cnn takes images [n, h, w, c];
 * fedsim's own forward takes them flattened, [n, h·w·c], in the same NHWC order.)
 *
 * A `layers` spec already is a tfjs-layers topology; it is written as it is, with the
 * weights under their tfjs names.
 *
 * Initialisers are set to zeros while the tfjs model is built for its topology: nothing
 * draws from Math.random, and the files claim no initialisation fedsim did not use (the
 * weights are the run's). The bytes depend on the model and the tfjs version only.
 */
import * as tf from '@tensorflow/tfjs';
import { FEDSIM_VERSION } from '../../version.js';
import { FlInvariantError } from '../errors.js';
import type { BuiltinSpec, ModelState } from '../models/spec.js';
import type { FinalModelParam } from './final-model-file.js';

export const TFJS_MODEL_JSON = 'model.json';
export const TFJS_WEIGHTS_BIN = 'weights.bin';

export interface TfjsLayersFiles {
  /** model.json's text. */
  json: string;
  /** weights.bin's bytes. */
  bin: Uint8Array;
}

const zeros = { kernelInitializer: 'zeros', biasInitializer: 'zeros' } as const;

/** The tfjs layers equivalent to a built-in spec (see the file comment). */
function builtinLayers(spec: BuiltinSpec): tf.layers.Layer[] {
  switch (spec.kind) {
    case 'linear':
      return [tf.layers.dense({ name: 'linear', units: spec.outputs, inputShape: [spec.inputs], ...zeros })];
    case 'logistic':
      return [tf.layers.dense({ name: 'logistic', units: spec.classes, inputShape: [spec.inputs], ...zeros })];
    case 'mlp':
      return spec.layers.slice(1).map((units, i) =>
        tf.layers.dense({
          name: `dense${i}`,
          units,
          // ReLU between layers, none after the last: fedsim's mlp (builtin-model.ts).
          activation: i + 2 < spec.layers.length ? 'relu' : 'linear',
          ...(i === 0 ? { inputShape: [spec.layers[0]] } : {}),
          ...zeros,
        }),
      );
    case 'cnn': {
      const conv = (name: string, filters: number, extra = {}) =>
        tf.layers.conv2d({ name, filters, kernelSize: spec.kernelSize, strides: 1, padding: 'same', activation: 'relu', ...extra, ...zeros });
      const pool = (name: string) => tf.layers.maxPooling2d({ name, poolSize: 2, strides: 2, padding: 'valid' });
      return [
        conv('conv1', spec.filters[0], { inputShape: [...spec.inputShape] }),
        pool('pool1'),
        conv('conv2', spec.filters[1]),
        pool('pool2'),
        tf.layers.flatten({ name: 'flatten' }),
        tf.layers.dense({ name: 'dense1', units: spec.hidden, activation: 'relu', ...zeros }),
        tf.layers.dense({ name: 'dense2', units: spec.classes, ...zeros }),
      ];
    }
  }
}

/** The Keras topology of a built-in spec, checked to have fedsim's parameters (names and shapes) in order. */
function builtinTopology(spec: BuiltinSpec, params: readonly FinalModelParam[]): Record<string, unknown> {
  const model = tf.sequential({ name: `fedsim_${spec.kind}`, layers: builtinLayers(spec) });
  try {
    const names = model.weights.map((w) => `${w.originalName} [${w.shape.join(', ')}]`);
    const expected = params.map((p) => `${p.name} [${p.shape.join(', ')}]`);
    if (names.join('; ') !== expected.join('; ')) {
      throw new FlInvariantError(`tfjs-layers export of a '${spec.kind}' model: the tfjs model's weights (${names.join('; ')}) are not fedsim's (${expected.join('; ')})`, { op: 'export', field: 'model' });
    }
    return model.toJSON(null, false) as unknown as Record<string, unknown>;
  } finally {
    model.dispose();
  }
}

/** model.json + weights.bin of `state`, whose parameters are named and shaped by `params` (final-model.json's). */
export function tfjsLayersFiles(state: ModelState, params: readonly FinalModelParam[]): TfjsLayersFiles {
  const spec = state.spec;
  const topology = spec.kind === 'layers' ? spec.topology : builtinTopology(spec, params);
  const bin = new Uint8Array(state.weights.reduce((n, w) => n + w.byteLength, 0));
  const view = new DataView(bin.buffer);
  let at = 0;
  for (const w of state.weights) for (let i = 0; i < w.length; i++, at += 4) view.setFloat32(at, w[i], true);
  const json = {
    format: 'layers-model',
    generatedBy: `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
    convertedBy: `fedsim ${FEDSIM_VERSION} (fedsim export --model)`,
    modelTopology: topology,
    weightsManifest: [{ paths: [TFJS_WEIGHTS_BIN], weights: params.map((p) => ({ name: p.name, shape: [...p.shape], dtype: 'float32' })) }],
  };
  return { json: JSON.stringify(json) + '\n', bin };
}
