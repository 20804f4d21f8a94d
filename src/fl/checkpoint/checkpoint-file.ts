/**
 * A checkpoint file of a round-based FL run (`fedsim run FILE --checkpoint-every N`): what
 * `fedsim resume` needs to continue the run and to prove that the continuation is the run
 * that was started (docs/checkpoint-resume.md).
 *
 * One file per checkpoint, `checkpoints/round-000004.json` beside the run's outputs. A file
 * is written to a temporary name, fsynced, renamed into place and its directory fsynced, so
 * a kill at any moment leaves either the complete file or none under its name (a leftover
 * `.tmp` is ignored). Its body is sealed by `digest`, the sha256 of the body's canonical
 * JSON: a file that was cut short, edited or damaged on disk fails to parse or to match, and
 * is never used.
 */
import { closeSync, fsyncSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { canonicalJson, sha256Hex } from '../../runtime/canonical.js';

export const CHECKPOINT_KIND = 'fedsim-checkpoint';
export const CHECKPOINT_FORMAT = 1;
/** The folder of a run's checkpoints, inside its output directory. */
export const CHECKPOINTS_DIR = 'checkpoints';

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'a sha256 in hex');
const count = z.number().int().min(0);

const CheckpointBodySchema = z
  .object({
    kind: z.literal(CHECKPOINT_KIND),
    format: z.literal(CHECKPOINT_FORMAT),
    /** --checkpoint-every of the run: a resumed run goes on checkpointing at the same rounds. */
    every: z.number().int().min(1),
    /** The round whose report (fl/round-end) reached the driver at event `events - 1`. */
    round: z.number().int().min(1),
    /** Events of the log up to and including that report's delivery. */
    events: count,
    /** Virtual time of that delivery (ms). */
    virtualTime: z.number().min(0),
    /** The log as it was then: its first `bytes` bytes (header line included) hash to `sha256`. */
    log: z.object({ file: z.string().min(1), bytes: count, sha256 }).strict(),
    /** sha256 of the global model after `round` (weightsSha256), as its report carried it. */
    weightsSha256: sha256.optional(),
    /** The code that made the run: fedsim's version and a digest of its source files (code-digest.ts). */
    code: z.object({ fedsim: z.string(), sha256 }).strict(),
  })
  .strict();

export type CheckpointBody = z.infer<typeof CheckpointBodySchema>;
export type Checkpoint = CheckpointBody & { digest: string };

const CheckpointSchema = CheckpointBodySchema.extend({ digest: sha256 }).strict();

/** `round-000004.json`: zero-padded, so the names sort as the rounds do. */
export function checkpointFileName(round: number): string {
  return `round-${String(round).padStart(6, '0')}.json`;
}

const FILE_NAME = /^round-(\d{6,})\.json$/;

export function sealCheckpoint(body: CheckpointBody): Checkpoint {
  return { ...body, digest: sha256Hex(canonicalJson(body)) };
}

/** Writes the checkpoint atomically (see the file comment); returns its path. */
export function writeCheckpoint(dir: string, body: CheckpointBody): string {
  const name = checkpointFileName(body.round);
  const path = join(dir, name);
  const temporary = join(dir, `.${name}.tmp`);
  const fd = openSync(temporary, 'w');
  try {
    const bytes = Buffer.from(JSON.stringify(sealCheckpoint(body), null, 2) + '\n', 'utf8');
    writeSync(fd, bytes, 0, bytes.length, 0);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, path);
  // The rename itself is durable only once the directory entry is.
  const dirFd = openSync(dir, 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
  return path;
}

export type CheckpointReading = { file: string; round: number; checkpoint: Checkpoint } | { file: string; round: number; problem: string };

/** Reads and checks one checkpoint file: its JSON, its fields, its digest and that its name matches its round. */
export function readCheckpoint(path: string, file: string, round: number): CheckpointReading {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    return { file, round, problem: `cannot be read (${(error as Error).message})` };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { file, round, problem: 'is not valid JSON (cut short or damaged)' };
  }
  const parsed = CheckpointSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { file, round, problem: `is not a fedsim checkpoint: ${issue.path.join('.') || '(file)'}: ${issue.message}` };
  }
  const { digest, ...body } = parsed.data;
  const actual = sha256Hex(canonicalJson(body));
  if (actual !== digest) return { file, round, problem: `fails its integrity check (digest ${digest.slice(0, 12)}…, its content hashes to ${actual.slice(0, 12)}…): it was edited or damaged` };
  if (body.round !== round) return { file, round, problem: `names round ${body.round}, but its file name says round ${round}` };
  return { file, round, checkpoint: parsed.data };
}

/** Every checkpoint file of `dir` (leftover temporary files aside), latest round first. */
export function readCheckpoints(dir: string): CheckpointReading[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .flatMap((name) => {
      const match = FILE_NAME.exec(name);
      return match ? [{ name, round: Number(match[1]) }] : [];
    })
    .sort((a, b) => b.round - a.round)
    .map(({ name, round }) => readCheckpoint(join(dir, name), name, round));
}

/** Removes the checkpoints of an earlier run into the same directory (they describe a log that is being replaced). */
export function clearCheckpoints(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
