/**
 * Forward programs for tfjs-layers models (`fromLayers`): a Sequential model of the
 * common layers — Dense, Conv2D, MaxPooling2D, AveragePooling2D, Flatten, Reshape,
 * Activation — becomes the ops those layers run, reading the Keras topology the spec
 * keeps (snake_case, as `toJSON` writes it).
 *
 * Per-sample shapes are followed layer by layer, because reshape needs explicit sizes
 * (Flatten is `reshape(h, [-1, h·w·c])`). Anything else — functional models, layers
 * with state beyond their weights (BatchNormalization), other data formats — is
 * refused with the layer's name: a model is sent only if the worker computes exactly
 * what the local model computes.
 */
import type { ForwardArg } from '../../messages/index.js';
import { FlConfigError, FlInvariantError } from '../errors.js';
import type { Model } from '../models/model.js';
import type { LayersSpec } from '../models/spec.js';
import type { ProgramBuilder } from './forward-program.js';

interface LayerJson {
  class_name: string;
  config: Record<string, unknown>;
}

const ACTIVATIONS: Readonly<Record<string, string | null>> = {
  linear: null,
  relu: 'relu',
  relu6: 'relu6',
  sigmoid: 'sigmoid',
  tanh: 'tanh',
  softmax: 'softmax',
  elu: 'elu',
  selu: 'selu',
  softplus: 'softplus',
};

const SUPPORTED = 'Dense, Conv2D, MaxPooling2D, AveragePooling2D, Flatten, Reshape, Activation (and InputLayer)';

const pair = (value: unknown): [number, number] => (Array.isArray(value) ? [Number(value[0]), Number(value[1] ?? value[0])] : [Number(value), Number(value)]);

/** Output size of a 2-D window op along one axis (tfjs's rule for 'same' and 'valid', dilation 1). */
function windowOut(size: number, window: number, stride: number, padding: string): number {
  return padding === 'same' ? Math.ceil(size / stride) : Math.ceil((size - window + 1) / stride);
}

export function compileLayers(spec: LayersSpec, model: Model, b: ProgramBuilder): void {
  const topology = spec.topology as { class_name?: string; config?: { layers?: LayerJson[] } };
  if (topology.class_name !== 'Sequential' || !Array.isArray(topology.config?.layers)) {
    throw new FlConfigError(`model.send: only Sequential tfjs-layers models can be sent to a worker; this one is a ${String(topology.class_name)}. Rebuild it with tf.sequential().`, {
      op: 'model.send',
      field: 'topology.class_name',
    });
  }
  let shape = [...spec.inputShape];
  let h: ForwardArg = b.op('reshape', b.input, [-1, ...shape]);
  const refuse = (layer: LayerJson, why: string): never => {
    throw new FlConfigError(`model.send: layer ${String(layer.config.name)} (${layer.class_name}) cannot run on a worker: ${why}. Layers that can: ${SUPPORTED}.`, {
      op: 'model.send',
      layer: String(layer.config.name),
    });
  };
  const activate = (layer: LayerJson, x: ForwardArg): ForwardArg => {
    const name = String(layer.config.activation ?? 'linear');
    if (!Object.hasOwn(ACTIVATIONS, name)) return refuse(layer, `activation '${name}' is not supported (use one of ${Object.keys(ACTIVATIONS).join(', ')})`);
    const op = ACTIVATIONS[name];
    return op ? b.op(op, x) : x;
  };
  for (const layer of topology.config!.layers!) {
    const c = layer.config;
    const name = String(c.name);
    switch (layer.class_name) {
      case 'InputLayer':
        break;
      case 'Dense': {
        if (shape.length !== 1) refuse(layer, `its input has per-sample shape [${shape}]; put a Flatten before it`);
        h = b.op('matMul', h, b.param(`${name}/kernel`));
        if (c.use_bias !== false) h = b.op('add', h, b.param(`${name}/bias`));
        h = activate(layer, h);
        shape = [Number(c.units)];
        break;
      }
      case 'Conv2D': {
        if (c.data_format !== undefined && c.data_format !== 'channels_last') refuse(layer, `data format ${String(c.data_format)} (only channels_last)`);
        if (pair(c.dilation_rate ?? 1).some((d) => d !== 1)) refuse(layer, 'dilated convolutions are not supported');
        if (shape.length !== 3) refuse(layer, `its input has per-sample shape [${shape}], not [height, width, channels]`);
        const [kh, kw] = pair(c.kernel_size);
        const [sh, sw] = pair(c.strides ?? 1);
        const padding = String(c.padding ?? 'valid');
        h = b.op('conv2d', h, b.param(`${name}/kernel`), [sh, sw], padding);
        if (c.use_bias !== false) h = b.op('add', h, b.param(`${name}/bias`));
        h = activate(layer, h);
        shape = [windowOut(shape[0], kh, sh, padding), windowOut(shape[1], kw, sw, padding), Number(c.filters)];
        break;
      }
      case 'MaxPooling2D':
      case 'AveragePooling2D': {
        if (c.data_format !== undefined && c.data_format !== 'channels_last') refuse(layer, `data format ${String(c.data_format)} (only channels_last)`);
        if (shape.length !== 3) refuse(layer, `its input has per-sample shape [${shape}], not [height, width, channels]`);
        const [ph, pw] = pair(c.pool_size ?? 2);
        const [sh, sw] = pair(c.strides ?? c.pool_size ?? 2);
        const padding = String(c.padding ?? 'valid');
        h = b.op(layer.class_name === 'MaxPooling2D' ? 'maxPool' : 'avgPool', h, [ph, pw], [sh, sw], padding);
        shape = [windowOut(shape[0], ph, sh, padding), windowOut(shape[1], pw, sw, padding), shape[2]];
        break;
      }
      case 'Flatten': {
        const size = shape.reduce((x, y) => x * y, 1);
        h = b.op('reshape', h, [-1, size]);
        shape = [size];
        break;
      }
      case 'Reshape': {
        shape = (c.target_shape as number[]).map(Number);
        h = b.op('reshape', h, [-1, ...shape]);
        break;
      }
      case 'Activation':
        h = activate(layer, h);
        break;
      default:
        refuse(layer, 'this layer class is not supported');
    }
  }
  const size = shape.reduce((x, y) => x * y, 1);
  if (size !== model.outputSize) {
    throw new FlInvariantError(`model.send: the compiled layers compute ${size} outputs per sample, but the model has ${model.outputSize}; the topology could not be followed, so nothing was sent`, {
      op: 'model.send',
      field: 'outputSize',
    });
  }
  if (shape.length !== 1) b.op('reshape', h, [-1, size]);
}
