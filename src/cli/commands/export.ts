/**
 * `fedsim export RUN`: an FL experiment's run directory (written by `fedsim run FILE --out
 * DIR`) in the formats other tools read:
 *
 *   --csv [FILE]          the per-round metrics as CSV, fixed columns   (default RUN/metrics.csv)
 *   --clients-csv [FILE]  per client and round, as CSV                  (default RUN/clients.csv)
 *   --tensorboard [DIR]   the same as a TensorBoard event file          (default RUN/tensorboard/)
 *   --model [DIR]         the final global model as a tfjs-layers model (default RUN/tfjs-model/)
 *
 * What is written is a function of the run's files alone (src/fl/export/: no clock, no host
 * name), so exporting a run twice gives the same bytes. Files are written under a .partial
 * name and renamed into place, so an export that fails never leaves half a file.
 */
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { FedsimError } from '../../runtime/index.js';
import { FINAL_MODEL_BIN, FINAL_MODEL_JSON, decodeFinalModel } from '../../fl/export/final-model-file.js';
import { toCsv } from '../../fl/export/csv.js';
import { metricsTable, withColumns } from '../../fl/export/metrics-table.js';
import { ROUND_COLUMNS } from '../../fl/experiments/round-rows.js';
import { clientTable } from '../../fl/export/client-table.js';
import { EVENTS_FILE_NAME, tensorboardEvents } from '../../fl/export/tensorboard-events.js';
import { TFJS_MODEL_JSON, TFJS_WEIGHTS_BIN, tfjsLayersFiles } from '../../fl/export/tfjs-layers-export.js';
import { displayPath } from '../../scenario/index.js';
import { CliError, EXIT_OK } from '../cli-error.js';
import { PARTIAL, ensureDirectory, replaceableTarget } from '../run-outputs.js';
import { refuseInputAsOutput, runDirectoryFiles } from '../output-guard.js';
import { resumeCommandFor } from '../resume-hint.js';
import { startBackend } from '../run-options.js';
import { terminalText } from '../terminal-text.js';

export interface ExportCommandOptions {
  /** true: the default place; a string: the place given. */
  csv?: string | boolean;
  /** Per-client rows (results.json result.perClient) as CSV. */
  clientsCsv?: string | boolean;
  tensorboard?: string | boolean;
  model?: string | boolean;
}

interface RunDirectory {
  dir: string;
  results: string;
  /** results.json's `result` of an FL experiment. */
  result: { perRound: unknown[]; perClient?: unknown; weightsSha256?: unknown };
}

export async function exportCommand(run: string, options: ExportCommandOptions): Promise<number> {
  if (!options.csv && !options.clientsCsv && !options.tensorboard && !options.model) {
    throw new CliError('fedsim export: say what to export: --csv, --clients-csv, --tensorboard and/or --model (each takes an optional place; see fedsim export --help).');
  }
  const source = readRunDirectory(run);
  const placeOf = (option: string | boolean, fallback: string) => resolve(typeof option === 'string' ? option : join(source.dir, fallback));
  refuseRunFilesAsOutputs(source, options, placeOf);
  const written: Array<[string, string]> = [];
  // The same columns for every FL run (round-rows.ts), so metrics.csv files concatenate and compare.
  const table = withColumns(metricsTable(source.result.perRound), ROUND_COLUMNS);
  if (options.csv) {
    const file = placeOf(options.csv, 'metrics.csv');
    writeOutput(file, toCsv(table), `--csv ${displayPath(file)}`);
    written.push(['csv', file]);
  }
  if (options.clientsCsv) {
    const file = placeOf(options.clientsCsv, 'clients.csv');
    if (!Array.isArray(source.result.perClient)) {
      throw new CliError(
        `fedsim export --clients-csv: ${displayPath(source.results)} has no per-client rows (result.perClient): the run was made by a fedsim that did not record them. ` +
          `Run the experiment again with \`fedsim run <file> --out ${displayPath(source.dir)}\` (same seed, same run), then export.`,
      );
    }
    writeOutput(file, toCsv(clientTable(source.result.perClient)), `--clients-csv ${displayPath(file)}`);
    written.push(['clients csv', file]);
  }
  if (options.tensorboard) {
    const dir = placeOf(options.tensorboard, 'tensorboard');
    const file = join(dir, EVENTS_FILE_NAME);
    writeOutput(file, tensorboardEvents(table), `--tensorboard ${displayPath(dir)}`);
    written.push(['tensorboard', file]);
  }
  if (options.model) {
    const dir = placeOf(options.model, 'tfjs-model');
    const model = readFinalModel(source);
    // Building the tfjs topology allocates (zero) tensors: any backend will do, nothing is computed.
    await startBackend(undefined);
    let files;
    try {
      files = tfjsLayersFiles(model.state, model.params);
    } catch (error) {
      if (error instanceof FedsimError) throw new CliError(`fedsim export --model: ${error.message}`, 1);
      throw error;
    }
    // The weights first: a model.json is never left pointing at weights of another export.
    writeOutput(join(dir, TFJS_WEIGHTS_BIN), files.bin, `--model ${displayPath(dir)}`);
    writeOutput(join(dir, TFJS_MODEL_JSON), files.json, `--model ${displayPath(dir)}`);
    written.push(['model', join(dir, TFJS_MODEL_JSON)]);
  }
  for (const [label, path] of written) process.stdout.write(`${(label + ':').padEnd(13)}${terminalText(displayPath(path))}\n`);
  return EXIT_OK;
}

/** Every file an export would write, checked up front (nothing is written when one is refused) not to be one of the run's own. */
function refuseRunFilesAsOutputs(source: RunDirectory, options: ExportCommandOptions, placeOf: (option: string | boolean, fallback: string) => string): void {
  const inputs = [source.results, ...runDirectoryFiles(source.dir)];
  const outputs: Array<[string, string]> = [];
  if (options.csv) outputs.push([placeOf(options.csv, 'metrics.csv'), '--csv']);
  if (options.clientsCsv) outputs.push([placeOf(options.clientsCsv, 'clients.csv'), '--clients-csv']);
  if (options.tensorboard) outputs.push([join(placeOf(options.tensorboard, 'tensorboard'), EVENTS_FILE_NAME), '--tensorboard']);
  if (options.model) {
    const dir = placeOf(options.model, 'tfjs-model');
    outputs.push([join(dir, TFJS_WEIGHTS_BIN), '--model'], [join(dir, TFJS_MODEL_JSON), '--model']);
  }
  for (const [file, flag] of outputs) {
    const what = `${flag} ${displayPath(file)}`;
    refuseInputAsOutput(replaceableTarget(file, what), inputs, what);
  }
}

/** RUN as a directory or its results.json, checked to be an FL experiment's. */
function readRunDirectory(run: string): RunDirectory {
  const given = resolve(run);
  const hint = 'give the directory `fedsim run FILE --out DIR` wrote (or its results.json)';
  if (!existsSync(given)) throw new CliError(`fedsim export: ${run} does not exist; ${hint}.`);
  const isDir = statSync(given).isDirectory();
  const dir = isDir ? given : dirname(given);
  const results = isDir ? join(given, 'results.json') : given;
  if (!isDir && basename(given) !== 'results.json') throw new CliError(`fedsim export: ${run} is a file but not a results.json; ${hint}.`);
  if (!existsSync(results)) {
    // A run stopped with checkpoints can be finished rather than started over.
    const resume = resumeCommandFor(dir);
    const next = resume === undefined ? `${hint}.` : `it was stopped and has checkpoints: finish it with \`${terminalText(resume)}\`, then export.`;
    throw new CliError(`fedsim export: ${displayPath(dir)} has no results.json, so it is not a finished run; ${next}`);
  }
  let parsed: { ok?: unknown; error?: unknown; scenario?: { name?: unknown; path?: unknown }; result?: unknown };
  try {
    parsed = JSON.parse(readFileSync(results, 'utf8')) as typeof parsed;
  } catch (error) {
    throw new CliError(`fedsim export: ${displayPath(results)} is not valid JSON (${(error as Error).message}); it is damaged: re-run the scenario with \`fedsim run\`.`);
  }
  const name = typeof parsed?.scenario?.name === 'string' ? `'${terminalText(parsed.scenario.name)}'` : 'this run';
  const result = parsed?.result as RunDirectory['result'] | undefined;
  if (result === undefined || result === null) {
    const why = typeof parsed?.error === 'string' ? ` (${terminalText(parsed.error)})` : '';
    throw new CliError(`fedsim export: ${name} in ${displayPath(results)} has no result: the run failed before it finished${why}; fix it and run it again.`, 1);
  }
  if (typeof result !== 'object' || !Array.isArray(result.perRound)) {
    throw new CliError(
      `fedsim export: ${name} in ${displayPath(results)} is not an FL experiment (its result has no perRound metrics); ` +
        'export works on runs of `kind: fedavg` experiment files (e.g. fedsim run scenarios/experiments/synthetic-fedavg.yaml --out runs/x).',
    );
  }
  return { dir, results, result };
}

/** The run's final model (final-model.json + .bin), checked against results.json's weightsSha256. */
function readFinalModel(source: RunDirectory) {
  const json = join(source.dir, FINAL_MODEL_JSON);
  const bin = join(source.dir, FINAL_MODEL_BIN);
  for (const file of [json, bin]) {
    if (!existsSync(file)) {
      throw new CliError(
        `fedsim export --model: ${displayPath(file)} does not exist: this run has no final weights (it was made by a fedsim that did not keep them, or by hand). ` +
          `Run the experiment again with \`fedsim run <file> --out ${displayPath(source.dir)}\` (runs are reproducible: same seed, same model), then export.`,
      );
    }
  }
  let model;
  try {
    model = decodeFinalModel(readFileSync(json, 'utf8'), new Uint8Array(readFileSync(bin)), { json: displayPath(json), bin: displayPath(bin) });
  } catch (error) {
    if (error instanceof FedsimError) throw new CliError(`fedsim export --model: ${error.message}`);
    throw error;
  }
  if (model.weightsSha256 !== source.result.weightsSha256) {
    throw new CliError(
      `fedsim export --model: ${displayPath(bin)} has weights sha256 ${model.weightsSha256}, but ${displayPath(source.results)} says the run ended with ${String(source.result.weightsSha256)}: ` +
        'the model is from another run. Run the experiment again into this directory, then export.',
    );
  }
  return model;
}

/** Writes `data` to `file` through a .partial file; `what` names the option for errors. */
function writeOutput(file: string, data: string | Uint8Array, what: string): void {
  ensureDirectory(dirname(file), what);
  const target = replaceableTarget(file, what);
  if (existsSync(target) && statSync(target).isDirectory()) throw new CliError(`${what}: ${displayPath(target)} is a directory; give a file path (or remove the directory).`);
  try {
    writeFileSync(target + PARTIAL, data);
    renameSync(target + PARTIAL, target);
  } catch (error) {
    throw new CliError(`${what}: cannot write ${displayPath(target)} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); choose a writable place.`);
  }
}
