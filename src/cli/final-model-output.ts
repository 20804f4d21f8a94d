/**
 * `fedsim run`'s fourth output, for runs whose result carries a `finalModel` ({ spec,
 * weights }: FL experiments): final-model.json + final-model.bin beside results.json
 * (format: src/fl/export/final-model-file.ts), which `fedsim export --model` reads.
 *
 * The model is taken out of the result first, so results.json and report.html stay small
 * (results.json names the files and their sha256 under `finalModel` instead). Like the other
 * outputs the files are written under .partial names and renamed into place with them; a run
 * without a final model removes the files an earlier run left in the same directory, so a
 * directory never pairs one run's results with another run's model.
 */
import { lstatSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createBlankModel } from '../fl/models/create.js';
import { type ModelState, ModelSpecSchema } from '../fl/models/spec.js';
import { FINAL_MODEL_BIN, FINAL_MODEL_JSON, encodeFinalModel } from '../fl/export/final-model-file.js';
import { displayPath } from '../scenario/index.js';
import { PARTIAL, replaceableTarget } from './run-outputs.js';

export interface FinalModelOutput {
  /** What results.json says about the model: its files and the sha256 of its weights (undefined: no model). */
  summary: { json: string; bin: string; weightsSha256: string } | undefined;
  /** Writes the .partial files (before the run's outputs are committed). */
  write(): void;
  /** Renames them into place, or removes an earlier run's model when this run has none. */
  commit(): void;
}

function isModelState(value: unknown): value is ModelState {
  const state = value as ModelState | undefined;
  return ModelSpecSchema.safeParse(state?.spec).success && Array.isArray(state?.weights) && state.weights.every((w) => w instanceof Float32Array);
}

/** Takes `finalModel` out of `result` (mutating it) and prepares its files in `outDir`; `what` names the --out flag for errors. */
export function takeFinalModel(result: unknown, outDir: string, what: string): FinalModelOutput {
  const paths = { json: replaceableTarget(join(outDir, FINAL_MODEL_JSON), what), bin: replaceableTarget(join(outDir, FINAL_MODEL_BIN), what) };
  const holder = result as { finalModel?: unknown } | undefined;
  const state = holder !== null && typeof holder === 'object' && isModelState(holder.finalModel) ? holder.finalModel : undefined;
  if (state) delete holder!.finalModel;
  if (!state) {
    return {
      summary: undefined,
      write() {},
      commit() {
        for (const path of [paths.json, paths.bin]) if (isRegularFile(path)) unlinkSync(path);
      },
    };
  }
  const model = createBlankModel(state.spec);
  const params = model.paramNames.map((name, i) => ({ name, shape: [...model.paramShapes[i]] }));
  model.dispose();
  const files = encodeFinalModel(state, params);
  return {
    summary: { json: displayPath(paths.json), bin: displayPath(paths.bin), weightsSha256: files.weightsSha256 },
    write() {
      for (const path of [paths.json, paths.bin]) rmSync(path + PARTIAL, { force: true });
      writeFileSync(paths.json + PARTIAL, files.json);
      writeFileSync(paths.bin + PARTIAL, files.bin);
    },
    commit() {
      renameSync(paths.bin + PARTIAL, paths.bin);
      renameSync(paths.json + PARTIAL, paths.json);
    },
  };
}

function isRegularFile(path: string): boolean {
  try {
    return lstatSync(path).isFile();
  } catch {
    return false;
  }
}
