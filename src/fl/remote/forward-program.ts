/**
 * Compiling a Model to the forward program a worker runs (src/messages/forward-program.ts).
 *
 * The program computes what `model.forward(x)` computes, with the allow-listed tfjs
 * ops only, so the worker's autograd tape can record it: the built-in kinds as their
 * formulas (the CNN's fused conv + bias + ReLU becomes its three ops — equal up to
 * float rounding), and tfjs-layers models of the common Sequential layers (layers-program.ts).
 * Parameters are numbered in the model's weight order, so `getWeights()` lines up.
 *
 * A model the compiler cannot express is refused (FlConfigError, naming the layer); a
 * program that would not compute the model's output (a parameter it cannot find or does
 * not use) means the compiler accepted something it should not have: FlInvariantError.
 */
import type { ForwardArg, ForwardProgram, ForwardStep } from '../../messages/index.js';
import { FlInvariantError } from '../errors.js';
import type { Model } from '../models/model.js';
import type { BuiltinSpec } from '../models/spec.js';
import { compileLayers } from './layers-program.js';

/** Builds a program one step at a time; each op returns the reference to its output. */
export class ProgramBuilder {
  readonly steps: ForwardStep[] = [];
  readonly input: ForwardArg = { input: true };
  /** Indices of the parameters some step reads. */
  readonly used = new Set<number>();

  constructor(private readonly paramNames: readonly string[]) {}

  param(name: string): ForwardArg {
    const index = this.paramNames.indexOf(name);
    if (index < 0) {
      throw new FlInvariantError(`model.send: the compiled program reads parameter '${name}', which the model does not have (it has ${this.paramNames.join(', ')})`, { op: 'model.send', field: name });
    }
    this.used.add(index);
    return { param: index };
  }

  op(op: string, ...args: ForwardArg[]): ForwardArg {
    this.steps.push({ op, args });
    return { step: this.steps.length - 1 };
  }

  dense(x: ForwardArg, layer: string, relu: boolean): ForwardArg {
    const z = this.op('add', this.op('matMul', x, this.param(`${layer}/kernel`)), this.param(`${layer}/bias`));
    return relu ? this.op('relu', z) : z;
  }
}

function builtinSteps(spec: BuiltinSpec, b: ProgramBuilder): void {
  switch (spec.kind) {
    case 'linear':
    case 'logistic':
      b.dense(b.input, spec.kind, false);
      return;
    case 'mlp': {
      let h = b.input;
      const layers = spec.layers.length - 1;
      for (let i = 0; i < layers; i++) h = b.dense(h, `dense${i}`, i + 1 < layers);
      return;
    }
    case 'cnn': {
      const [height, width, channels] = spec.inputShape;
      let a = b.op('reshape', b.input, [-1, height, width, channels]);
      for (const conv of ['conv1', 'conv2']) {
        a = b.op('relu', b.op('add', b.op('conv2d', a, b.param(`${conv}/kernel`), 1, 'same'), b.param(`${conv}/bias`)));
        a = b.op('maxPool', a, 2, 2, 'valid');
      }
      const flat = Math.floor(Math.floor(height / 2) / 2) * Math.floor(Math.floor(width / 2) / 2) * spec.filters[1];
      b.dense(b.dense(b.op('reshape', a, [-1, flat]), 'dense1', true), 'dense2', false);
      return;
    }
  }
}

/** A short description of a spec, for pointers and messages: `linear(2→1)`, `mlp(784-200-10)`. */
export function describeModel(model: Model): string {
  const spec = model.spec;
  switch (spec.kind) {
    case 'linear':
      return `linear(${spec.inputs}→${spec.outputs})`;
    case 'logistic':
      return `logistic(${spec.inputs}→${spec.classes})`;
    case 'mlp':
      return `mlp(${spec.layers.join('-')})`;
    case 'cnn':
      return `cnn(${spec.inputShape.join('×')}→${spec.classes})`;
    case 'layers':
      return `layers(${spec.inputShape.join('×')}→${model.outputSize})`;
  }
}

/** The forward program of `model`; throws (naming the layer) for layers models it cannot express. */
export function compileForward(model: Model): ForwardProgram {
  const b = new ProgramBuilder(model.paramNames);
  const spec = model.spec;
  if (spec.kind === 'layers') compileLayers(spec, model, b);
  else builtinSteps(spec, b);
  const unused = model.paramNames.filter((_, i) => !b.used.has(i));
  if (unused.length > 0) {
    throw new FlInvariantError(`model.send: the program of ${describeModel(model)} would not use parameter(s) ${unused.join(', ')}; the worker would compute something else than the model, so nothing was sent`, {
      op: 'model.send',
      unused,
    });
  }
  return {
    name: describeModel(model),
    input: [-1, model.inputSize],
    params: model.paramNames.map((name, i) => ({ name, shape: [...model.paramShapes[i]] })),
    steps: b.steps,
  };
}
