/**
 * The export formats on their own (no runs): CRC-32C and TFRecord framing, the protobuf
 * encodings, the CSV, the final-model files, and the tfjs-layers model of every model kind,
 * loaded by tfjs and predicting like fedsim's model.
 */
import test from 'ava';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/runtime/backend.js';
import { createStream } from '../src/runtime/rng.js';
import { sha256Hex } from '../src/runtime/canonical.js';
import { createModel, fromLayers, nn, restoreModel, weightsSha256, type Model, type ModelSpec } from '../src/fl/models/index.js';
import { crc32c, maskedCrc32c, tfRecord } from '../src/fl/export/tfrecord.js';
import { ProtoWriter } from '../src/fl/export/protobuf-writer.js';
import { metricsTable, withColumns } from '../src/fl/export/metrics-table.js';
import { csvNumber, toCsv } from '../src/fl/export/csv.js';
import { ROUND_COLUMNS } from '../src/fl/experiments/round-rows.js';
import { DROP_REASONS } from '../src/fl/rounds/drop-reasons.js';
import { FILE_VERSION, tensorboardEvents } from '../src/fl/export/tensorboard-events.js';
import { decodeFinalModel, encodeFinalModel } from '../src/fl/export/final-model-file.js';
import { tfjsLayersFiles } from '../src/fl/export/tfjs-layers-export.js';
import { DataFormatError, FlInvariantError } from '../src/fl/errors.js';
import { readEvents, readRecords, referenceCrc32c, referenceMask } from './helpers/tfevents-reader.js';

test.before(async () => {
  await initBackend('cpu');
});

const ascii = (text: string) => new TextEncoder().encode(text);

test('CRC-32C of "123456789" is the RFC 3720 check value 0xE3069283 (library and reference)', (t) => {
  t.is(crc32c(ascii('123456789')), 0xe3069283);
  t.is(referenceCrc32c(ascii('123456789')), 0xe3069283);
});

test('the masked CRC and the record framing agree with the independent reader', (t) => {
  const data = ascii('a record of some length');
  t.is(maskedCrc32c(data), referenceMask(referenceCrc32c(data)));
  const framed = tfRecord(data);
  t.is(framed.length, 8 + 4 + data.length + 4);
  t.deepEqual(readRecords(framed), [data]);
  // One flipped bit in the data is caught by the reader's CRC check.
  const damaged = framed.slice();
  damaged[14] ^= 1;
  t.throws(() => readRecords(damaged), { message: /bad data CRC/ });
});

test('protobuf: varints as in the protobuf docs (150 → 08 96 01), doubles, floats and strings', (t) => {
  t.deepEqual([...new ProtoWriter().varint(1, 150).finish()], [0x08, 0x96, 0x01]);
  t.deepEqual([...new ProtoWriter().varint(2, 2 ** 40).finish()], [0x10, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20]);
  t.deepEqual([...new ProtoWriter().string(2, 'testing').finish()], [0x12, 0x07, ...ascii('testing')]);
  t.deepEqual([...new ProtoWriter().float(2, 1).finish()], [0x15, 0x00, 0x00, 0x80, 0x3f]);
  t.deepEqual([...new ProtoWriter().double(1, 1).finish()], [0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f]);
  t.throws(() => new ProtoWriter().varint(2, -1), { instanceOf: FlInvariantError });
});

const rows = [
  { round: 1, testAccuracy: 0.1, trainLoss: 'NaN', drops: { offline: 1, fault: 0 }, bytesUp: 27896, endedAt: 1500 },
  { round: 2, testAccuracy: 1e-7, trainLoss: 0.25, drops: { offline: 0, fault: 2 }, bytesUp: 27896, endedAt: 3000, skipped: 'no update, "late", again', failures: [{ client: 'c1' }] },
];

test('CSV: round first, columns in order of first appearance, nested fields dotted, RFC 4180 quoting, NaN and absent empty', (t) => {
  const csv = toCsv(metricsTable(rows));
  t.is(
    csv,
    'round,testAccuracy,trainLoss,drops.offline,drops.fault,bytesUp,endedAt,skipped,failures\r\n' +
      '1,0.1,,1,0,27896,1500,,\r\n' +
      '2,1e-7,0.25,0,2,27896,3000,"no update, ""late"", again","[{""client"":""c1""}]"\r\n',
  );
  // Numbers short enough are written as JSON writes them (the 15-digit rounding changes nothing here).
  t.is(String(JSON.parse('1e-7')), '1e-7');
});

test('CSV numbers: integers exact, others to 15 significant digits in shortest form, so float noise of sums prints cleanly', (t) => {
  // Sums of virtual ms and fractions of hours: the noise in the 16th-17th digit is gone.
  t.is(csvNumber(99960.00000000001), '99960');
  t.is(csvNumber(0.1 + 0.2), '0.3');
  t.is(csvNumber(9.700000000000001), '9.7');
  t.is(csvNumber(27.099999999999994), '27.1');
  // Integers are exact however long (bytes, counts); tiny and huge values keep JSON's exponent form.
  t.is(csvNumber(2 ** 53), '9007199254740992');
  t.is(csvNumber(27896), '27896');
  t.is(csvNumber(1e-7), '1e-7');
  t.is(csvNumber(1.5e21), '1.5e+21');
  t.is(csvNumber(-0.25), '-0.25');
  // Losses and accuracies keep the digits that tell runs apart: values that differ from the 13th digit still differ.
  t.is(csvNumber(0.7474831342697144), '0.747483134269714');
  t.not(csvNumber(0.7474831342697144), csvNumber(0.7474831342697144 + 1e-12));
  t.is(csvNumber(Math.fround(0.1)), '0.100000001490116', 'a float32 value shows all of its digits');
  const csv = toCsv({ columns: ['endedAt', 'virtualHours'], rows: [{ endedAt: 99960.00000000001, virtualHours: 99960.00000000001 / 3_600_000 }] });
  t.is(csv, 'endedAt,virtualHours\r\n99960,0.0277666666666667\r\n');
});

test('metrics.csv columns: the same header for every FL run, whatever happened in it (drops, skipped rounds, dp)', (t) => {
  const quiet = [{ round: 1, testAccuracy: 0.5, trainLoss: 0.3, selected: 3, updates: 3, participants: 3, finished: 3, dropped: 0, drops: { offline: 0 }, endedAt: 10 }];
  const eventful = [
    { round: 1, trainLoss: 0.3, selected: 3, updates: 0, participants: 0, finished: 0, dropped: 3, drops: { fault: 3 }, epsilon: 0.4, skipped: 'no update', failures: [{ clientId: 'c' }], endedAt: 10 },
  ];
  const headerOf = (rows: unknown[]) => toCsv(withColumns(metricsTable(rows), ROUND_COLUMNS)).split('\r\n')[0];
  t.is(headerOf(quiet), headerOf(eventful));
  t.is(headerOf(quiet), ROUND_COLUMNS.join(','));
  for (const why of DROP_REASONS) t.true(ROUND_COLUMNS.includes(`drops.${why}`), why);
  // No second count of the same failures by error kind.
  t.false(ROUND_COLUMNS.some((c) => c.startsWith('failed')));
  // A column fedsim does not know (a results.json of an older version) still comes through, after the fixed ones.
  t.is(withColumns(metricsTable([{ round: 1, failed: { fault: 2 } }]), ROUND_COLUMNS).columns.at(-1), 'failed.fault');
});

test('TensorBoard: a file-version event, then one event per round: step = round, wall_time = virtual seconds, scalar per numeric column', (t) => {
  const events = readEvents(tensorboardEvents(metricsTable(rows)));
  t.deepEqual(events[0], { wallTime: 0, step: 0, fileVersion: FILE_VERSION });
  t.is(events.length, 3);
  t.like(events[1], { step: 1, wallTime: 1.5 });
  // Round 1's trainLoss is NaN: no scalar for it (TensorBoard would plot it as a gap anyway).
  t.deepEqual(events[1].values!.map((v) => v.tag), ['testAccuracy', 'drops/offline', 'drops/fault', 'bytesUp']);
  t.deepEqual(events[2].values!.map((v) => v.tag), ['testAccuracy', 'trainLoss', 'drops/offline', 'drops/fault', 'bytesUp']);
  t.is(events[2].values![0].simpleValue, Math.fround(1e-7));
  t.is(events[2].values![1].simpleValue, 0.25);
  t.is(events[2].wallTime, 3);
});

const specs: Array<[string, ModelSpec]> = [
  ['linear', nn.linear(3, 2)],
  ['logistic', nn.logistic(6, 3)],
  ['mlp', nn.mlp([6, 5, 4, 3])],
  ['cnn', nn.cnn({ inputShape: [8, 6, 2], filters: [2, 3], kernelSize: 3, hidden: 5, classes: 4 })],
];

function paramsOf(model: Model) {
  return model.paramNames.map((name, i) => ({ name, shape: [...model.paramShapes[i]] }));
}

test('final-model files: the .bin hashes to weightsSha256, decodes to the same weights, and damage is refused', (t) => {
  const model = createModel(nn.mlp([4, 3, 2]), createStream(1, 'model/init'));
  const files = encodeFinalModel(model.state(), paramsOf(model));
  t.is(sha256Hex(files.bin), weightsSha256(model.getWeights()));
  const where = { json: 'final-model.json', bin: 'final-model.bin' };
  const decoded = decodeFinalModel(files.json, files.bin, where);
  t.deepEqual(decoded.state.weights, model.getWeights());
  t.deepEqual(decoded.state.spec, model.spec);
  const damaged = files.bin.slice();
  damaged[10] ^= 1;
  t.throws(() => decodeFinalModel(files.json, damaged, where), { instanceOf: DataFormatError, message: /final-model\.bin: its sha256 .* is not the weightsSha256/ });
  t.throws(() => decodeFinalModel('{"format":"other"}', files.bin, where), { instanceOf: DataFormatError, message: /format is "other"/ });
  model.dispose();
});

/** Loads the exported files with tfjs itself (as tf.loadLayersModel('file://…') does, from memory). */
async function loadExported(files: { json: string; bin: Uint8Array }): Promise<tf.LayersModel> {
  const json = JSON.parse(files.json);
  assertLayersModelFormat(json);
  const weightData = files.bin.buffer.slice(files.bin.byteOffset, files.bin.byteOffset + files.bin.byteLength) as ArrayBuffer;
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData }));
}

function assertLayersModelFormat(json: { format?: string; weightsManifest?: Array<{ paths: string[] }> }): void {
  if (json.format !== 'layers-model' || json.weightsManifest?.[0].paths[0] !== 'weights.bin') throw new Error('not a layers-model with weights.bin');
}

/** max |fedsim forward − tfjs predict| on `n` seeded inputs. */
async function largestDifference(model: Model, inputShape: number[], n: number): Promise<number> {
  const loaded = await loadExported(tfjsLayersFiles(model.state(), paramsOf(model)));
  const rng = createStream(9, 'test/inputs');
  const x = tf.tensor2d(Float32Array.from({ length: n * model.inputSize }, () => rng.next() * 2 - 1), [n, model.inputSize]);
  const ours = model.forward(x);
  const theirs = loaded.predict(x.reshape([n, ...inputShape])) as tf.Tensor;
  const gap = tf.max(tf.abs(tf.sub(ours, theirs.reshape(ours.shape)))).dataSync()[0];
  const scale = tf.max(tf.abs(ours)).dataSync()[0];
  loaded.dispose();
  tf.dispose([x, ours, theirs]);
  return scale > 0 ? gap : NaN; // an all-zero output would prove nothing
}

for (const [name, spec] of specs) {
  test(`tfjs-layers export of a ${name} model loads in tfjs and predicts like fedsim's model (logits, within 1e-6)`, async (t) => {
    const model = createModel(spec, createStream(7, 'model/init'));
    // Non-zero biases, so a bias dropped or misplaced would show.
    model.setWeights(model.getWeights().map((w, i) => (model.paramNames[i].endsWith('bias') ? w.map((_, j) => 0.1 * ((j % 3) - 1)) : w)));
    const inputShape = spec.kind === 'cnn' ? [...spec.inputShape] : [model.inputSize];
    const gap = await largestDifference(model, inputShape, 5);
    t.true(gap <= 1e-6, `largest difference ${gap}`);
    // The same model gives the same bytes.
    const a = tfjsLayersFiles(model.state(), paramsOf(model));
    const b = tfjsLayersFiles(restoreModel(model.state()).state(), paramsOf(model));
    t.is(a.json, b.json);
    t.deepEqual(a.bin, b.bin);
    model.dispose();
  });
}

test('tfjs-layers export of a layers model (its own topology, softmax output) predicts like fedsim\'s model', async (t) => {
  const keras = tf.sequential({
    layers: [tf.layers.dense({ units: 4, activation: 'tanh', inputShape: [5] }), tf.layers.dense({ units: 3, activation: 'softmax' })],
  });
  const model = fromLayers(keras, createStream(3, 'model/init'));
  keras.dispose();
  const gap = await largestDifference(model, [5], 4);
  t.true(gap <= 1e-6, `largest difference ${gap}`);
  model.dispose();
});
