/**
 * Fields every experiment kind may share (name, seed, faults, strategy), as zod
 * fragments a kind spreads into its schema, plus the resolution of `faults`, which
 * may be a plan or the path of a plan file next to the experiment.
 */
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { FaultPlanSchema, type FaultPlanInput, parseFaultPlan } from '../runtime/faults/fault-plan.js';
import { StrategySpecSchema } from '../runtime/scheduling/strategy.js';
import { FILE_LIMITS, raiseHint } from './limits.js';
import { displayPath } from './scenario-path.js';

export const SeedSchema = z.union([z.number().int(), z.string().min(1)]);

export const experimentFields = {
  name: z.string().min(1).optional(),
  description: z.string().optional(),
  seed: SeedSchema.optional(),
  /** A fault plan, or the path of a JSON plan file relative to the experiment file. */
  faults: z.union([z.string().min(1), FaultPlanSchema]).optional(),
  strategy: StrategySpecSchema.optional(),
  /** Free parameters handed to the scenario as `ctx.params`. */
  params: z.record(z.string(), z.unknown()).optional(),
};

/** The fault plan of an experiment: inline, or read from a file relative to `dir`. */
export function resolveFaultsField(value: string | FaultPlanInput | undefined, dir: string): FaultPlanInput | undefined {
  if (value === undefined || typeof value !== 'string') return value;
  return readFaultPlanFile(resolve(dir, value));
}

export class FaultFileError extends Error {
  override name = 'FaultFileError';
}

/** Reads and validates a JSON fault plan file of at most `maxBytes` (limit fileBytes); errors name the file. */
export function readFaultPlanFile(path: string, maxBytes: number = FILE_LIMITS.fileBytes.default): FaultPlanInput {
  const shown = displayPath(resolve(path));
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    throw new FaultFileError(`Fault plan file not found: ${shown}.`);
  }
  if (size > maxBytes) {
    throw new FaultFileError(`${shown} is ${size.toLocaleString('en-US')} bytes; fault plan files are limited to ${maxBytes.toLocaleString('en-US')} bytes (limit fileBytes); ${raiseHint('fileBytes', false)}.`);
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new FaultFileError(`Cannot read the fault plan file ${shown}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new FaultFileError(`${shown} is not valid JSON: ${(error as Error).message}`);
  }
  parseFaultPlan(json, shown); // throws FaultPlanError naming the file and the field
  return json as FaultPlanInput;
}
