/**
 * Models: seeded initialisation (bit-identical per seed), weights in and out,
 * the built-in architectures, and tfjs-layers models.
 */
import test from 'ava';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/runtime/backend.js';
import { createStream } from '../src/runtime/rng.js';
import { builtinParams, createModel, fans, fromLayers, nn, restoreModel, weightsSha256, type ModelSpec } from '../src/fl/models/index.js';

test.before(async () => {
  await initBackend('cpu');
});

const smallCnn = nn.cnn({ inputShape: [8, 8, 1], filters: [2, 3], hidden: 6, classes: 3 });
const specs: Array<[string, ModelSpec]> = [
  ['linear', nn.linear(2, 1)],
  ['logistic', nn.logistic(6, 3)],
  ['mlp', nn.mlp([6, 5, 4, 3])],
  ['cnn', smallCnn],
];

for (const [name, spec] of specs) {
  test(`${name}: the same seed gives bit-identical weights, another seed different ones`, (t) => {
    const a = createModel(spec, createStream(42, 'model/init'));
    const b = createModel(spec, createStream(42, 'model/init'));
    const c = createModel(spec, createStream(43, 'model/init'));
    t.is(weightsSha256(a.getWeights()), weightsSha256(b.getWeights()));
    t.not(weightsSha256(a.getWeights()), weightsSha256(c.getWeights()));
    [a, b, c].forEach((m) => m.dispose());
  });
}

test('the paper architectures have the paper parameter counts', (t) => {
  const mlp = createModel(nn.mlp([784, 200, 200, 10]), createStream(1, 'i'));
  t.is(mlp.countParams(), 199_210); // McMahan et al. 2017, 2NN
  const cnn = createModel(nn.cnn(), createStream(1, 'i'));
  t.is(cnn.countParams(), 1_663_370); // McMahan et al. 2017, CNN
  t.deepEqual(cnn.paramNames, ['conv1/kernel', 'conv1/bias', 'conv2/kernel', 'conv2/bias', 'dense1/kernel', 'dense1/bias', 'dense2/kernel', 'dense2/bias']);
  mlp.dispose();
  cnn.dispose();
});

test('initialisation: He uniform before ReLU, Glorot uniform otherwise, zero biases, within the limits', (t) => {
  const spec = nn.mlp([20, 30, 4]);
  const params = builtinParams(spec);
  t.deepEqual(params.map((p) => p.init), ['he-uniform', 'zeros', 'glorot-uniform', 'zeros']);
  const m = createModel(spec, createStream(5, 'i'));
  const [k0, b0, k1, b1] = m.getWeights();
  const he = Math.sqrt(6 / 20);
  const glorot = Math.sqrt(6 / (30 + 4));
  t.true(k0.every((v) => Math.abs(v) <= he) && k0.some((v) => Math.abs(v) > he * 0.9));
  t.true(k1.every((v) => Math.abs(v) <= glorot) && k1.some((v) => Math.abs(v) > glorot * 0.9));
  t.true(b0.every((v) => v === 0) && b1.every((v) => v === 0));
  t.deepEqual(fans([5, 5, 32, 64]), [800, 1600]);
  m.dispose();
});

test('getWeights returns copies; setWeights copies in and checks the layout', (t) => {
  const m = createModel(nn.linear(2, 1), createStream(1, 'i'));
  const w = m.getWeights();
  w[0][0] = 1234;
  t.not(m.getWeights()[0][0], 1234);
  m.setWeights([Float32Array.from([1, 2]), Float32Array.from([3])]);
  t.deepEqual(m.getWeights().map((a) => Array.from(a)), [[1, 2], [3]]);
  t.throws(() => m.setWeights([Float32Array.from([1, 2, 3]), Float32Array.from([3])]), { message: /linear\/kernel.*weight array 0 has 3 values, expected 2/ });
  m.dispose();
});

test('forward computes xW + b for the linear model', (t) => {
  const m = createModel(nn.linear(2, 1), createStream(1, 'i'));
  m.setWeights([Float32Array.from([2, -1]), Float32Array.from([0.5])]);
  const y = tf.tidy(() => m.forward(tf.tensor2d([[1, 1], [3, 2]])).dataSync());
  t.deepEqual(Array.from(y), [1.5, 4.5]);
  m.dispose();
});

test('the CNN maps a batch of images to class scores', (t) => {
  const m = createModel(smallCnn, createStream(1, 'i'));
  const out = tf.tidy(() => m.forward(tf.ones([5, 64]) as tf.Tensor2D).shape);
  t.deepEqual(out, [5, 3]);
  m.dispose();
});

test('state() → JSON → restoreModel rebuilds the same model; clone is independent; disposed models say so', (t) => {
  const m = createModel(nn.mlp([4, 3, 2]), createStream(9, 'i'));
  const state = m.state();
  const spec = JSON.parse(JSON.stringify(state.spec));
  const r = restoreModel({ spec, weights: state.weights });
  t.is(weightsSha256(r.getWeights()), weightsSha256(m.getWeights()));
  const c = m.clone();
  c.setWeights(c.getWeights().map((w) => w.map(() => 0)));
  t.not(weightsSha256(c.getWeights()), weightsSha256(m.getWeights()));
  m.dispose();
  t.throws(() => m.getWeights(), { message: /was disposed/ });
  r.dispose();
  c.dispose();
});

test('building and disposing models leaves no tensor behind', (t) => {
  const before = tf.memory().numTensors;
  for (const [, spec] of specs) {
    const m = createModel(spec, createStream(1, 'i'));
    m.clone().dispose();
    m.dispose();
  }
  t.is(tf.memory().numTensors, before);
});

test('fromLayers keeps the topology, takes its initial weights from the seeded stream, and rebuilds from its state', (t) => {
  const layers = tf.sequential({
    layers: [tf.layers.dense({ inputShape: [6], units: 5, activation: 'relu' }), tf.layers.dense({ units: 3, activation: 'softmax' })],
  });
  const a = fromLayers(layers, createStream(1, 'init'));
  const b = fromLayers(layers, createStream(1, 'init'));
  t.is(a.spec.kind, 'layers');
  t.is(a.loss, 'cross-entropy'); // the model ends in a softmax
  t.is(a.countParams(), 6 * 5 + 5 + 5 * 3 + 3);
  t.is(weightsSha256(a.getWeights()), weightsSha256(b.getWeights()));
  t.not(weightsSha256(a.getWeights()), weightsSha256(layers.getWeights().map((w) => w.dataSync() as Float32Array)));
  // The spec survives JSON (what a message or a worker's store would hold).
  const restored = restoreModel({ spec: JSON.parse(JSON.stringify(a.spec)), weights: a.getWeights() });
  const x = tf.tensor2d([[1, 2, 3, 4, 5, 6]]);
  t.deepEqual(Array.from(tf.tidy(() => a.forward(x).dataSync())), Array.from(tf.tidy(() => restored.forward(x).dataSync())));
  const sum = tf.tidy(() => a.forward(x).sum().dataSync()[0]);
  t.true(Math.abs(sum - 1) < 1e-6, 'softmax outputs sum to 1');
  [a, b, restored, x].forEach((m) => m.dispose());
  layers.dispose();
});

test('fromLayers refuses layers that draw from Math.random', (t) => {
  const layers = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 4 }), tf.layers.dropout({ rate: 0.5 }), tf.layers.dense({ units: 2 })] });
  t.throws(() => fromLayers(layers, createStream(1, 'i')), { message: /Dropout layers, which draw from Math.random/ });
  layers.dispose();
});

test('a bad spec is refused with the field named', (t) => {
  t.throws(() => createModel({ kind: 'mlp', layers: [4] } as ModelSpec, createStream(1, 'i')), { message: /layers/ });
  t.throws(() => nn.linear(0, 1), { message: /inputs|Too small/ });
});
