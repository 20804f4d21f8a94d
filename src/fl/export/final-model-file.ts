/**
 * The final global model of a run, as `fedsim run` keeps it beside results.json:
 *
 *   final-model.json  { format, spec, params: [{ name, shape }], weightsSha256 }
 *   final-model.bin   per parameter, in weight order: its value count (uint32 LE), then
 *                     its values (float32 LE)
 *
 * The .bin holds exactly the bytes `weightsSha256` hashes (weights.ts), so the file's own
 * sha256 is the run's `weightsSha256` (in results.json and in the summary): anyone can
 * check with `sha256sum` that the file is the model the run ended with. Both files are a
 * pure function of the model (no time, no host), so the same run writes the same bytes.
 */
import { DataFormatError } from '../errors.js';
import { type ModelState, parseModelSpec } from '../models/spec.js';
import { weightsSha256 } from '../models/weights.js';
import { sha256Hex } from '../../runtime/canonical.js';

export const FINAL_MODEL_JSON = 'final-model.json';
export const FINAL_MODEL_BIN = 'final-model.bin';
const FORMAT = 'fedsim-final-model/1';

export interface FinalModelParam {
  name: string;
  shape: number[];
}

export interface FinalModelFiles {
  json: string;
  bin: Uint8Array;
  weightsSha256: string;
}

/** The two files of `state`; `params` names and shapes each weight array (model.paramNames / paramShapes). */
export function encodeFinalModel(state: ModelState, params: readonly FinalModelParam[]): FinalModelFiles {
  if (params.length !== state.weights.length) {
    throw new DataFormatError(`final model: ${params.length} parameter names for ${state.weights.length} weight arrays`, { field: 'params' });
  }
  const total = state.weights.reduce((n, w) => n + 4 + w.byteLength, 0);
  const bin = new Uint8Array(total);
  const view = new DataView(bin.buffer);
  let at = 0;
  for (const w of state.weights) {
    view.setUint32(at, w.length, true);
    at += 4;
    // Written value by value in little-endian, so the file is the same on any host.
    for (let i = 0; i < w.length; i++, at += 4) view.setFloat32(at, w[i], true);
  }
  const sha = weightsSha256(state.weights);
  const json = JSON.stringify({ format: FORMAT, spec: state.spec, params: params.map((p) => ({ name: p.name, shape: [...p.shape] })), weightsSha256: sha }, null, 2) + '\n';
  return { json, bin, weightsSha256: sha };
}

export interface DecodedFinalModel {
  state: ModelState;
  params: FinalModelParam[];
  weightsSha256: string;
}

/**
 * Reads the two files back; `where` names them in errors. Refuses a foreign or damaged pair:
 * a bin whose sha256 is not the json's weightsSha256, lengths that disagree with the shapes.
 */
export function decodeFinalModel(jsonText: string, bin: Uint8Array, where: { json: string; bin: string }): DecodedFinalModel {
  let parsed: { format?: unknown; spec?: unknown; params?: unknown; weightsSha256?: unknown };
  try {
    parsed = JSON.parse(jsonText) as typeof parsed;
  } catch (error) {
    throw new DataFormatError(`${where.json}: not JSON (${(error as Error).message}); it should be written by \`fedsim run\``, { file: where.json });
  }
  if (parsed?.format !== FORMAT) {
    throw new DataFormatError(`${where.json}: format is ${JSON.stringify(parsed?.format)}, expected "${FORMAT}"; re-run the experiment with this fedsim to write it`, { file: where.json, field: 'format' });
  }
  const spec = parseModelSpec(parsed.spec, `${where.json}: spec`);
  const params = parsed.params;
  if (!Array.isArray(params) || !params.every((p) => typeof p?.name === 'string' && Array.isArray(p?.shape) && p.shape.every((d: unknown) => Number.isInteger(d) && (d as number) >= 0))) {
    throw new DataFormatError(`${where.json}: params must be a list of { name, shape }`, { file: where.json, field: 'params' });
  }
  const sha = sha256Hex(bin);
  if (sha !== parsed.weightsSha256) {
    throw new DataFormatError(`${where.bin}: its sha256 ${sha} is not the weightsSha256 ${String(parsed.weightsSha256)} of ${where.json}; the files are damaged or from different runs: re-run the experiment`, { file: where.bin });
  }
  const view = new DataView(bin.buffer, bin.byteOffset, bin.byteLength);
  const weights: Float32Array[] = [];
  let at = 0;
  for (const p of params as FinalModelParam[]) {
    const expected = p.shape.reduce((a, b) => a * b, 1);
    const count = at + 4 <= bin.byteLength ? view.getUint32(at, true) : -1;
    if (count !== expected || at + 4 + 4 * count > bin.byteLength) {
      throw new DataFormatError(`${where.bin}: parameter ${p.name} should hold ${expected} values (shape [${p.shape.join(', ')}]), the file ${count < 0 ? 'ends before it' : `says ${count}`}`, { file: where.bin, field: p.name });
    }
    at += 4;
    const values = new Float32Array(count);
    for (let i = 0; i < count; i++, at += 4) values[i] = view.getFloat32(at, true);
    weights.push(values);
  }
  if (at !== bin.byteLength) throw new DataFormatError(`${where.bin}: ${bin.byteLength - at} bytes after the last parameter`, { file: where.bin });
  return { state: { spec, weights }, params: params as FinalModelParam[], weightsSha256: sha };
}
