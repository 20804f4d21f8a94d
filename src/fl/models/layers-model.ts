/**
 * tfjs-layers models as fedsim models.
 *
 * `fromLayers(model, rng)` keeps the model's Keras topology (`model.toJSON(null,
 * false)`) as the spec and builds fedsim's own copy from it; the argument is
 * neither modified nor retained. Two things differ from tfjs's own loading:
 *
 * - The copy is built synchronously (a worker must be able to rebuild a model
 *   inside a message handler, and handlers are synchronous). `tf.models.modelFromJSON`
 *   is async only because it may fetch weights; without weights it is the
 *   pythonic→TypeScript config conversion plus the class's `fromConfig`, which we
 *   call directly (the conversion mirrors tfjs-layers' `convertPythonicToTs`).
 * - Building passes tfjs's `fastWeightInit` flag, so layers start at zeros instead
 *   of running their initialisers (which draw from Math.random); the initial weights
 *   then come from the seeded stream (init.ts).
 *
 * Layers that draw random numbers while training (Dropout and friends) are refused:
 * tfjs seeds them from Math.random, which would make runs irreproducible.
 */
import * as tf from '@tensorflow/tfjs';
import type { RandomStream } from '../../runtime/rng.js';
import { FlConfigError } from '../errors.js';
import { type ParamInit, initialWeights } from './init.js';
import { type Model, VariableModel } from './model.js';
import { type LayersSpec, type LossName, LayersSpecSchema } from './spec.js';

const RANDOM_LAYERS = new Set(['Dropout', 'SpatialDropout1D', 'GaussianNoise', 'GaussianDropout', 'AlphaDropout']);

type Json = null | string | number | boolean | Json[] | { [key: string]: Json };

function toCamelCase(identifier: string): string {
  if (identifier.length <= 1 || !identifier.includes('_')) return identifier;
  return identifier.replace(/[_]+(\w|$)/g, (_m, c: string) => c.toUpperCase());
}

/** tfjs-layers' convertPythonicToTs: snake_case keys and enum strings to camelCase, except layer names. */
function pythonicToTs(value: Json, key?: string): Json {
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return value;
  if (typeof value === 'string') return toCamelCase(value);
  if (Array.isArray(value)) {
    const isName = (i: number, item: Json) =>
      (key === 'inboundNodes' || key === 'outputLayers' || key === 'inputLayers') && i === 0 && typeof item === 'string';
    return value.map((item, i) => (isName(i, item) ? item : pythonicToTs(item, key)));
  }
  const out: { [key: string]: Json } = {};
  for (const k of Object.keys(value)) {
    const v = value[k];
    if (k === 'name' && typeof v === 'string') out[k] = v;
    else {
      const tsKey = toCamelCase(k);
      out[tsKey] = pythonicToTs(v, tsKey);
    }
  }
  return out;
}

/** Builds a LayersModel from a Keras topology, synchronously, with all weights zero. */
function buildFromTopology(topology: Record<string, unknown>): tf.LayersModel {
  const config = pythonicToTs(JSON.parse(JSON.stringify(topology)) as Json) as { className?: string; config?: Record<string, unknown> };
  const className = config.className;
  const entry = className ? tf.serialization.SerializationMap.getMap().classNameMap[className] : undefined;
  if (!entry || !config.config) {
    throw new FlConfigError(
      `layers model spec: the topology's class_name is ${JSON.stringify(className)}, which tfjs-layers does not know; ` +
        `pass the output of layersModel.toJSON(null, false) for a Sequential or functional model`,
      { op: 'layers model spec', field: 'topology.class_name' },
    );
  }
  const [cls, fromConfig] = entry as unknown as [unknown, (c: unknown, cfg: unknown, custom: unknown, fastInit: boolean) => tf.LayersModel];
  return fromConfig(cls, config.config, {}, true);
}

function layerClassNames(topology: Record<string, unknown>): string[] {
  const layers = (topology.config as { layers?: Array<{ class_name?: string }> } | undefined)?.layers ?? [];
  return layers.map((l) => String(l.class_name));
}

/** The initialisation rule of one layer weight (see init.ts). */
function layerInitRule(name: string, shape: readonly number[]): ParamInit['init'] {
  if (/(^|\/)(gamma|moving_variance)(_\d+)?$/.test(name)) return 'ones';
  return shape.length >= 2 ? 'glorot-uniform' : 'zeros';
}

export class LayersModelAdapter extends VariableModel {
  readonly inputSize: number;
  readonly outputSize: number;
  readonly loss: LossName;
  readonly trainable: readonly tf.Variable[];

  private constructor(
    readonly spec: LayersSpec,
    private readonly layers: tf.LayersModel,
  ) {
    const weights = layers.weights;
    super(
      weights.map((w) => w.originalName),
      weights.map((w) => [...(w.shape as number[])]),
      weights.map((w) => w.read() as tf.Variable),
    );
    this.trainable = layers.trainableWeights.map((w) => w.read() as tf.Variable);
    this.inputSize = spec.inputShape.reduce((a, b) => a * b, 1);
    this.outputSize = (layers.outputs[0].shape.slice(1) as number[]).reduce((a, b) => a * b, 1);
    this.loss = spec.loss;
  }

  /** Builds the model of `spec` holding `weights`, seeded initial weights, or zeros. */
  static build(spec: LayersSpec, init: RandomStream | { weights: readonly Float32Array[] } | 'zeros'): LayersModelAdapter {
    const adapter = new LayersModelAdapter(spec, buildFromTopology(spec.topology));
    if (init === 'zeros') return adapter;
    const weights = 'weights' in init ? init.weights : initialWeights(adapter.paramInits(), init);
    try {
      adapter.setWeights(weights);
    } catch (error) {
      adapter.dispose();
      throw error;
    }
    return adapter;
  }

  forward(x: tf.Tensor2D, options: { training?: boolean } = {}): tf.Tensor2D {
    this.assertLive('forward');
    return tf.tidy(() => {
      const input = tf.reshape(x, [-1, ...this.spec.inputShape]);
      const out = this.layers.apply(input, { training: options.training ?? false }) as tf.Tensor;
      return tf.reshape(out, [out.shape[0], -1]) as tf.Tensor2D;
    });
  }

  clone(): Model {
    return LayersModelAdapter.build(this.spec, { weights: this.getWeights() });
  }

  /** The tfjs-layers model this adapter runs (to read its layers, as DP-SGD's per-example gradients do; the adapter owns it). */
  get tfModel(): tf.LayersModel {
    this.assertLive('tfModel');
    return this.layers;
  }

  protected override disposeVariables(): void {
    this.layers.dispose();
  }

  private paramInits(): ParamInit[] {
    return this.paramNames.map((name, i) => ({ name, shape: [...this.paramShapes[i]], init: layerInitRule(name, this.paramShapes[i]) }));
  }
}

/**
 * A fedsim model with the architecture of `model` and seeded initial weights.
 * The loss defaults to cross-entropy on probabilities when the last layer ends in a
 * softmax, otherwise softmax cross-entropy on logits.
 */
export function fromLayers(model: tf.LayersModel, rng: RandomStream, options: { loss?: LossName } = {}): Model {
  const where = `fromLayers(${model.name})`;
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new FlConfigError(
      `${where}: only models with one input and one output are supported, this one has ${model.inputs.length} and ${model.outputs.length}; wrap it in a model with one input and one output`,
      { op: where, field: 'model' },
    );
  }
  const sample = model.inputs[0].shape.slice(1);
  if (sample.some((d) => typeof d !== 'number' || !(d > 0))) {
    throw new FlConfigError(
      `${where}: the input shape ${JSON.stringify(model.inputs[0].shape)} must be fully known apart from the batch dimension; give the first layer a complete inputShape`,
      { op: where, field: 'inputShape' },
    );
  }
  const topology = model.toJSON(null, false) as unknown as Record<string, unknown>;
  const random = layerClassNames(topology).filter((c) => RANDOM_LAYERS.has(c));
  if (random.length > 0) {
    throw new FlConfigError(
      `${where}: the model has ${random.join(', ')} layers, which draw from Math.random in tfjs and would make runs irreproducible; remove them`,
      { op: where, field: 'layers' },
    );
  }
  const last = model.layers[model.layers.length - 1]?.getConfig() as { activation?: string } | undefined;
  const loss = options.loss ?? (last?.activation === 'softmax' ? 'cross-entropy' : 'softmax-cross-entropy');
  const spec = LayersSpecSchema.parse({ kind: 'layers', topology, inputShape: sample, loss });
  return LayersModelAdapter.build(spec, rng);
}
