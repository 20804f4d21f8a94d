/**
 * Per-client metrics per round: results.json `result.perClient` and `fedsim export
 * --clients-csv`, on tiny real runs. The rows are checked against figures computed another
 * way: a round's bytes are the sum of its clients' (the ByteMeter counts rounds on its own),
 * a round's training loss is the sample-weighted mean of its participants' losses (the
 * server's own aggregate), a straggler is dropped for the deadline with the server's
 * reason, a client three times slower trains three times longer (virtual time), and a model
 * of 53 float32 values costs 340 bytes a message (wireBytes: 64 + 4 tensors × 16 + 53 × 4).
 * Under SecAgg+ no client's samples or loss is read. The CSV has the fixed columns and one
 * line per row; a run recorded without per-client rows is refused with what to do.
 */
import test from 'ava';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from '../src/cli/commands/run.js';
import { exportCommand } from '../src/cli/commands/export.js';
import { CLIENT_COLUMNS } from '../src/fl/export/client-table.js';
import { csvNumber } from '../src/fl/export/csv.js';
import type { ClientRoundRow } from '../src/fl/metrics/client-rounds.js';
import '../src/cli/experiment-kinds.js';
import { SMALL_MLP_EXPERIMENT } from './helpers/tiny-experiment.js';

const BASE = SMALL_MLP_EXPERIMENT;
const FILES = {
  straggler: `kind: fedavg\nname: straggler\n${BASE}rounds: 3\nroundDeadlineMs: 20\nslowdown: { client-1: 100, client-2: 3 }\n`,
  secagg: `kind: fedavg\nname: secagg\n${BASE}rounds: 2\naggregation: secagg+\nsecagg: { numShares: 5, reconstructionThreshold: 3 }\n`,
  fedbuff: `kind: fedavg\nname: fedbuff\n${BASE}async: { algorithm: fedbuff, concurrency: 3, bufferSize: 2, serverLr: 1, maxServerUpdates: 4 }\n`,
};
const MODEL_MESSAGE_BYTES = 64 + 4 * 16 + 53 * 4;

const root = mkdtempSync(join(tmpdir(), 'fedsim-clients-'));
writeFileSync(join(root, 'package.json'), '{}\n');
test.after.always(() => rmSync(root, { recursive: true, force: true }));

type Results = { result: { perRound: Array<{ round: number; bytesUp: number; bytesDown: number; trainLoss: number; dropped: number }>; perClient: ClientRoundRow[] } };
const runs: Partial<Record<keyof typeof FILES, Results>> = {};

async function quietly<T>(run: () => Promise<T>): Promise<T> {
  const write = process.stdout.write;
  process.stdout.write = (() => true) as typeof process.stdout.write;
  try {
    return await run();
  } finally {
    process.stdout.write = write;
  }
}

test.before(async () => {
  for (const [name, text] of Object.entries(FILES) as Array<[keyof typeof FILES, string]>) {
    writeFileSync(join(root, `${name}.yaml`), text);
    const code = await quietly(() => runCommand(join(root, `${name}.yaml`), { out: join(root, name), quiet: true }));
    if (code !== 0) throw new Error(`the ${name} run failed`);
    runs[name] = JSON.parse(readFileSync(join(root, name, 'results.json'), 'utf8')) as Results;
  }
});

const sum = (rows: readonly ClientRoundRow[], pick: (r: ClientRoundRow) => number | undefined) => rows.reduce((s, r) => s + (pick(r) ?? 0), 0);

test('sync: one row per selected client and round, with the drop and its reason, bytes and training time', (t) => {
  const { perRound, perClient } = runs.straggler!.result;
  t.is(perClient.length, 3 * 6, 'every client is selected every round');
  for (const round of perRound) {
    const rows = perClient.filter((r) => r.round === round.round);
    t.deepEqual(rows.map((r) => r.client), ['client-0', 'client-1', 'client-2', 'client-3', 'client-4', 'client-5'], 'sorted by client');
    t.is(sum(rows, (r) => r.bytesUp), round.bytesUp, `round ${round.round}: its clients' bytes up are the round's`);
    t.is(sum(rows, (r) => r.bytesDown), round.bytesDown, `round ${round.round}: bytes down`);
    const participants = rows.filter((r) => r.status === 'participant');
    t.is(rows.length - participants.length, round.dropped);
    const weighted = sum(participants, (r) => r.samples! * r.trainLoss!) / sum(participants, (r) => r.samples);
    t.true(Math.abs(weighted - round.trainLoss) < 1e-6, `round ${round.round}: train loss ${round.trainLoss} is the weighted mean ${weighted} of its participants'`);
    const straggler = rows.find((r) => r.client === 'client-1')!;
    t.like(straggler, { status: 'dropped', drop: 'deadline', reason: 'no update reached the server before the deadline', bytesUp: 0 });
    t.is(straggler.samples, undefined);
    for (const r of participants) {
      t.true(Number.isInteger(r.samples) && r.samples! > 0 && Number.isFinite(r.trainLoss));
      t.is(r.bytesDown, MODEL_MESSAGE_BYTES);
      t.is(r.bytesUp, MODEL_MESSAGE_BYTES);
    }
    const normal = rows.find((r) => r.client === 'client-0')!.trainMs!;
    t.true(normal > 0);
    t.true(Math.abs(rows.find((r) => r.client === 'client-2')!.trainMs! - 3 * normal) < 1e-9, 'slowdown 3 trains three times longer');
  }
  t.is(perClient[0].bytesDown, MODEL_MESSAGE_BYTES, 'the straggler got its first fit');
});

test('secure aggregation: bytes and training time, but no client\'s samples or loss', (t) => {
  const { perRound, perClient } = runs.secagg!.result;
  t.is(perClient.length, 2 * 6);
  t.true(perClient.every((r) => r.status === 'participant' && r.samples === undefined && r.trainLoss === undefined && r.trainMs! > 0 && r.bytesUp > 0));
  for (const round of perRound) t.is(sum(perClient.filter((r) => r.round === round.round), (r) => r.bytesUp), round.bytesUp);
});

test('async: one row per applied update with its dispatch and staleness', (t) => {
  const { perRound, perClient } = runs.fedbuff!.result;
  t.is(perClient.length, 4 * 2, 'four server updates of a buffer of two');
  const dispatches = perClient.map((r) => r.dispatch!);
  t.is(new Set(dispatches).size, dispatches.length, 'each dispatch applied once');
  for (const round of perRound) {
    const rows = perClient.filter((r) => r.round === round.round);
    t.is(sum(rows, (r) => r.bytesUp), round.bytesUp);
    for (const r of rows) {
      t.true(Number.isInteger(r.staleness) && r.staleness! >= 0 && r.staleness! < round.round, `staleness ${r.staleness} of an update applied at version ${round.round}`);
      t.true(r.samples! > 0 && r.trainMs! > 0);
    }
  }
  t.true(perClient.some((r) => r.staleness! > 0), 'some updates are stale');
});

test('fedsim export --clients-csv writes the rows with the fixed columns; a run without them is refused', async (t) => {
  const dir = join(root, 'straggler');
  await quietly(() => exportCommand(dir, { clientsCsv: true }));
  const lines = readFileSync(join(dir, 'clients.csv'), 'utf8').split('\r\n');
  t.is(lines.pop(), '');
  t.is(lines[0], CLIENT_COLUMNS.join(','));
  const rows = runs.straggler!.result.perClient;
  t.is(lines.length, rows.length + 1);
  const straggler = rows[1];
  t.is(lines[2], `1,client-1,dropped,deadline,no update reached the server before the deadline,,,,${straggler.bytesDown},0,,`);
  const first = rows[0];
  // Numbers to 15 significant digits (csv.ts): a training time of 0.8999999999999999 virtual ms is written 0.9.
  t.is(lines[1], `1,client-0,participant,,,${first.samples},${csvNumber(first.trainLoss!)},${csvNumber(first.trainMs!)},${first.bytesDown},${first.bytesUp},,`);
  t.is(lines[1].split(',')[7], '0.9');

  const old = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8'));
  delete old.result.perClient;
  const oldDir = join(root, 'old');
  mkdirSync(oldDir);
  writeFileSync(join(oldDir, 'results.json'), JSON.stringify(old));
  await t.throwsAsync(() => exportCommand(oldDir, { clientsCsv: true }), { message: /has no per-client rows \(result\.perClient\).*Run the experiment again/s });
});
