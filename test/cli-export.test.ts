/**
 * `fedsim export` on real runs: tiny experiments (the Synthetic FedAvg file for two rounds, an
 * mlp and a small cnn) are run once with the real `fedsim run`, then exported. The CSV must be
 * results.json's per-round metrics, the TensorBoard file must parse (CRCs, steps, tags,
 * values) with a reader written independently, the tfjs model must load in tfjs and predict
 * like fedsim's model of the run's final weights, the same run must export to the same bytes,
 * and bad input must be refused with an error naming the path and what to do.
 */
import test from 'ava';
import * as tf from '@tensorflow/tfjs';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../src/runtime/backend.js';
import { createStream } from '../src/runtime/rng.js';
import { sha256Hex } from '../src/runtime/canonical.js';
import { restoreModel, type ModelSpec } from '../src/fl/models/index.js';
import { decodeFinalModel } from '../src/fl/export/final-model-file.js';
import { exportCommand, type ExportCommandOptions } from '../src/cli/commands/export.js';
import { CliError } from '../src/cli/cli-error.js';
import { fedsim, type CliResult } from './helpers/fedsim-cli.js';
import { readEvents } from './helpers/tfevents-reader.js';
import { csvNumber } from '../src/fl/export/csv.js';
import { ROUND_COLUMNS } from '../src/fl/experiments/round-rows.js';
import { DROP_REASONS } from '../src/fl/rounds/drop-reasons.js';

const TINY = `
rounds: 2
localEpochs: 1
lr: 0.1
`;
const MLP = `kind: fedavg
name: tiny-mlp
seed: 3
data: { source: synthetic, alpha: 1, beta: 1, devices: 4, features: 6, classes: 3, maxSamplesPerDevice: 10 }
model: { kind: mlp, layers: [6, 5, 3] }
batchSize: 5
${TINY}`;
const CNN = `kind: fedavg
name: tiny-cnn
seed: 5
data: { source: synthetic, alpha: 1, beta: 1, devices: 4, features: 36, classes: 3, maxSamplesPerDevice: 8 }
model: { kind: cnn, inputShape: [6, 6, 1], filters: [2, 3], kernelSize: 3, hidden: 4, classes: 3 }
batchSize: 4
${TINY}`;

const root = mkdtempSync(join(tmpdir(), 'fedsim-export-'));
const runs = { synthetic: join(root, 'synthetic'), mlp: join(root, 'mlp'), mlpAgain: join(root, 'mlp-again'), cnn: join(root, 'cnn'), pingPong: join(root, 'ping-pong') };
const FL_RUNS = ['synthetic', 'mlp', 'cnn'] as const;
let cliExport: CliResult;
let cliMissing: CliResult;

test.before(async (t) => {
  await initBackend('cpu');
  writeFileSync(join(root, 'mlp.yaml'), MLP);
  writeFileSync(join(root, 'cnn.yaml'), CNN);
  // An earlier run's model in the directory a run without a model goes to: it must not survive beside the new results.
  mkdirSync(runs.pingPong);
  for (const file of ['final-model.json', 'final-model.bin']) writeFileSync(join(runs.pingPong, file), 'from an earlier run');
  const results = await Promise.all([
    fedsim('run', 'scenarios/experiments/synthetic-fedavg.yaml', '--param', 'rounds=2', '--out', runs.synthetic, '-q'),
    fedsim('run', join(root, 'mlp.yaml'), '--out', runs.mlp, '-q'),
    fedsim('run', join(root, 'mlp.yaml'), '--out', runs.mlpAgain, '-q'),
    fedsim('run', join(root, 'cnn.yaml'), '--out', runs.cnn, '-q'),
    fedsim('run', 'scenarios/ping-pong.ts', '--out', runs.pingPong, '-q'),
  ]);
  for (const r of results) if (r.code !== 0) t.log(r.stdout, r.stderr);
  t.true(results.every((r) => r.code === 0), 'every run passed');
  // Through the real bin once (exit code and what it prints), the rest in-process (same code, fewer processes).
  [cliExport, cliMissing] = await Promise.all([fedsim('export', runs.synthetic, '--csv', '--tensorboard', '--model'), fedsim('export', join(root, 'no-such-run'), '--csv')]);
  for (const name of ['mlp', 'cnn'] as const) await quietly(() => exportCommand(runs[name], { csv: true, tensorboard: true, model: true }));
});

test.after.always(() => rmSync(root, { recursive: true, force: true }));

/** exportCommand with its stdout lines swallowed (returns them). */
async function quietly(run: () => Promise<number>): Promise<string> {
  const write = process.stdout.write;
  let out = '';
  process.stdout.write = ((chunk: string) => ((out += chunk), true)) as typeof process.stdout.write;
  try {
    await run();
  } finally {
    process.stdout.write = write;
  }
  return out;
}

type PerRound = Record<string, unknown>;
const resultsOf = (dir: string) => JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as { result: { perRound: PerRound[]; weightsSha256: string } & Record<string, unknown>; finalModel?: { weightsSha256: string } };

/** RFC 4180 fields of a CSV text (quoted fields, doubled quotes, CRLF records). */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let at = 0;
  while (at < text.length) {
    let field = '';
    if (text[at] === '"') {
      at++;
      for (;;) {
        if (text[at] === '"' && text[at + 1] === '"') (field += '"'), (at += 2);
        else if (text[at] === '"') {
          at++;
          break;
        } else field += text[at++];
      }
    } else while (at < text.length && text[at] !== ',' && text[at] !== '\r') field += text[at++];
    record.push(field);
    if (text[at] === ',') at++;
    else if (text.startsWith('\r\n', at)) {
      records.push(record);
      record = [];
      at += 2;
    } else if (at < text.length) throw new Error(`bad CSV at ${at}`);
  }
  return records;
}

/** The value a CSV column stands for in a perRound row: `drops.offline` → row.drops.offline. */
const valueAt = (row: PerRound, column: string): unknown => column.split('.').reduce<unknown>((v, key) => (v as Record<string, unknown> | undefined)?.[key], row);

test('the real bin exports all three and says where; a missing run is a usage error naming it', (t) => {
  t.is(cliExport.code, 0, cliExport.stderr);
  t.regex(cliExport.stdout, /csv: +.*synthetic\/metrics\.csv\n/);
  t.regex(cliExport.stdout, /tensorboard: +.*synthetic\/tensorboard\/events\.out\.tfevents\.0\.fedsim\n/);
  t.regex(cliExport.stdout, /model: +.*synthetic\/tfjs-model\/model\.json\n/);
  t.is(cliMissing.code, 2);
  t.regex(cliMissing.stderr, /no-such-run does not exist; give the directory `fedsim run FILE --out DIR` wrote/);
});

test('fedsim run keeps the final model: final-model.bin hashes to the weightsSha256 of results.json, and the same run writes the same model', (t) => {
  for (const name of FL_RUNS) {
    const results = resultsOf(runs[name]);
    t.is(sha256Hex(readFileSync(join(runs[name], 'final-model.bin'))), results.result.weightsSha256, name);
    t.is(results.finalModel?.weightsSha256, results.result.weightsSha256);
    t.false('finalModel' in results.result, 'the weights are not written into results.json');
  }
  t.deepEqual(readFileSync(join(runs.mlpAgain, 'final-model.bin')), readFileSync(join(runs.mlp, 'final-model.bin')));
  // A run without a model (not an FL experiment) removed the model an earlier run had left in its directory.
  for (const file of ['final-model.json', 'final-model.bin']) t.false(existsSync(join(runs.pingPong, file)), file);
  t.false('finalModel' in resultsOf(runs.pingPong));
  t.is(readFileSync(join(runs.mlpAgain, 'final-model.json'), 'utf8'), readFileSync(join(runs.mlp, 'final-model.json'), 'utf8'));
});

for (const name of FL_RUNS) {
  test(`${name}: the CSV holds results.json's per-round metrics under the fixed columns, numbers to 15 significant digits`, (t) => {
    const { perRound } = resultsOf(runs[name]).result;
    const [header, ...rows] = parseCsv(readFileSync(join(runs[name], 'metrics.csv'), 'utf8'));
    // The same header for every FL run (nothing here was skipped or dropped, and there is no dp: those columns are still there).
    t.deepEqual(header, [...ROUND_COLUMNS]);
    t.is(rows.length, perRound.length);
    t.is(rows.length, 2);
    rows.forEach((cells, i) => {
      header.forEach((column, j) => {
        const value = valueAt(perRound[i], column);
        const expected = value === undefined || value === 'NaN' ? '' : typeof value === 'object' ? JSON.stringify(value) : typeof value === 'number' ? csvNumber(value) : String(value);
        t.is(cells[j], expected, `round ${i + 1}, ${column}`);
        if (typeof value === 'number') t.true(Math.abs(Number(cells[j]) - value) <= 1e-14 * Math.abs(value), `${column}: ${cells[j]} is ${value} to 15 digits`);
      });
      const drops = DROP_REASONS.reduce((n, why) => n + Number(cells[header.indexOf(`drops.${why}`)]), 0);
      t.is(drops, Number(cells[header.indexOf('dropped')]), 'each dropped client counted once, by why');
    });
  });

  test(`${name}: the TensorBoard file parses (CRCs), one event per round with step = round, wall_time = virtual seconds, every metric`, (t) => {
    const { perRound } = resultsOf(runs[name]).result;
    const events = readEvents(readFileSync(join(runs[name], 'tensorboard', 'events.out.tfevents.0.fedsim')));
    t.is(events[0].fileVersion, 'brain.Event:2');
    const scalars = events.slice(1);
    t.deepEqual(scalars.map((e) => e.step), perRound.map((r) => r.round as number));
    scalars.forEach((event, i) => {
      const row = perRound[i];
      t.is(event.wallTime, (row.endedAt as number) / 1000);
      const tags = Object.fromEntries(event.values!.map((v) => [v.tag, v.simpleValue]));
      t.is(tags.testAccuracy, Math.fround(row.testAccuracy as number));
      t.is(tags.testLoss, Math.fround(row.testLoss as number));
      t.is(tags.bytesUp, row.bytesUp as number);
      t.is(tags['drops/offline'], (row.drops as Record<string, number>).offline);
    });
  });

  test(`${name}: the tfjs-layers model loads in tfjs and predicts like fedsim's model of the run's final weights (within 1e-6)`, async (t) => {
    const dir = join(runs[name], 'tfjs-model');
    const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    t.is(json.format, 'layers-model');
    t.deepEqual(json.weightsManifest[0].paths, ['weights.bin']);
    const bin = readFileSync(join(dir, 'weights.bin'));
    const loaded = await tf.loadLayersModel(
      tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) as ArrayBuffer }),
    );
    const final = decodeFinalModel(readFileSync(join(runs[name], 'final-model.json'), 'utf8'), readFileSync(join(runs[name], 'final-model.bin')), { json: 'json', bin: 'bin' });
    t.is(final.weightsSha256, resultsOf(runs[name]).result.weightsSha256);
    const model = restoreModel(final.state);
    const spec = final.state.spec as ModelSpec;
    const rng = createStream(11, 'test/inputs');
    const n = 6;
    const x = tf.tensor2d(Float32Array.from({ length: n * model.inputSize }, () => rng.next() * 4 - 2), [n, model.inputSize]);
    const ours = model.forward(x);
    const theirs = loaded.predict(spec.kind === 'cnn' ? x.reshape([n, ...spec.inputShape]) : x) as tf.Tensor;
    t.deepEqual(theirs.shape, ours.shape);
    const gap = tf.max(tf.abs(tf.sub(ours, theirs))).dataSync()[0];
    t.true(gap <= 1e-6, `largest difference ${gap}`);
    t.true(tf.max(tf.abs(ours)).dataSync()[0] > 0, 'the outputs are not all zero');
    tf.dispose([x, ours, theirs]);
    loaded.dispose();
    model.dispose();
  });
}

test('the same run exports to the same bytes', async (t) => {
  const again = join(root, 'again');
  await quietly(() => exportCommand(runs.cnn, { csv: join(again, 'm.csv'), tensorboard: join(again, 'tb'), model: join(again, 'model') }));
  const same = (a: string, b: string) => t.deepEqual(readFileSync(join(again, a)), readFileSync(join(runs.cnn, b)), a);
  same('m.csv', 'metrics.csv');
  same('tb/events.out.tfevents.0.fedsim', 'tensorboard/events.out.tfevents.0.fedsim');
  same('model/model.json', 'tfjs-model/model.json');
  same('model/weights.bin', 'tfjs-model/weights.bin');
});

const refused = async (t: import('ava').ExecutionContext, run: string, options: ExportCommandOptions, message: RegExp) => {
  const error = await t.throwsAsync(quietly(() => exportCommand(run, options)), { instanceOf: CliError });
  t.regex(error!.message, message);
};

test('bad input: no format asked for, a file that is not results.json, a run that is not an FL experiment', async (t) => {
  await refused(t, runs.mlp, {}, /say what to export: --csv, --clients-csv, --tensorboard and\/or --model/);
  await refused(t, join(runs.mlp, 'run.jsonl'), { csv: true }, /run\.jsonl is a file but not a results\.json; give the directory/);
  await refused(t, runs.pingPong, { csv: true }, /'ping-pong' in .*ping-pong\/results\.json is not an FL experiment \(its result has no perRound metrics\); export works on runs of `kind: fedavg` experiment files/);
  const empty = join(root, 'empty');
  mkdirSync(empty);
  await refused(t, empty, { csv: true }, /empty has no results\.json, so it is not a finished run/);
});

test('bad input: a run without final weights, and a final model from another run, are refused for --model (not for --csv)', async (t) => {
  const old = join(root, 'old-run');
  cpSync(runs.mlp, old, { recursive: true });
  rmSync(join(old, 'final-model.bin'));
  rmSync(join(old, 'tfjs-model'), { recursive: true });
  await refused(t, old, { model: true }, /old-run\/final-model\.bin does not exist: this run has no final weights .* Run the experiment again with `fedsim run <file> --out .*old-run`/);
  t.throws(() => readFileSync(join(old, 'tfjs-model', 'model.json')), undefined, 'nothing was written');
  await quietly(() => exportCommand(old, { csv: true }));
  t.truthy(readFileSync(join(old, 'metrics.csv')));
  cpSync(join(runs.cnn, 'final-model.json'), join(old, 'final-model.json'));
  cpSync(join(runs.cnn, 'final-model.bin'), join(old, 'final-model.bin'));
  await refused(t, old, { model: true }, /final-model\.bin has weights sha256 [0-9a-f]{64}, but .*old-run\/results\.json says the run ended with [0-9a-f]{64}: the model is from another run/);
});

test('bad input: an output path that cannot be written names it and what to do', async (t) => {
  const file = join(root, 'a-file');
  writeFileSync(file, 'x');
  await refused(t, runs.mlp, { csv: join(file, 'metrics.csv') }, /--csv .*a-file\/metrics\.csv: .*a-file is a file, not a directory; give a directory/);
  await refused(t, runs.mlp, { tensorboard: file }, /--tensorboard .*a-file: .*a-file is a file, not a directory/);
  const dir = join(root, 'a-dir.csv');
  mkdirSync(dir);
  await refused(t, runs.mlp, { csv: dir }, /a-dir\.csv is a directory; give a file path/);
});
