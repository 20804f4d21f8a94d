/**
 * FedAvg vs FedProx on Synthetic(1,1), after Li et al. 2020 ("Federated Optimization
 * in Heterogeneous Networks", §5): 30 devices, 10 sampled per round, multinomial
 * logistic regression (60 features, 10 classes), E = 20 local epochs, B = 10,
 * η = 0.01, FedProx with μ = 1; 100 rounds (the paper runs 200). `--strategies` adds
 * the round engine's other algorithms on the same devices: SCAFFOLD, FedNova (the power-
 * law device sizes give very different local step counts τ_i), FedDyn (α = 0.01).
 *
 * Test accuracy is measured on the union of the devices' test splits (10% of each
 * device's samples). Two training losses are reported: the global model's loss on
 * all devices' training data (what FedProx's figures plot) and the sample-weighted
 * mean of the participants' local losses during local training.
 *
 * Each configuration runs twice with one seed, and the sha256 of the final weights
 * must be equal (bit-for-bit reproducibility; the script exits 1 otherwise). The
 * second runs happen in a fresh child process started at the beginning, so they
 * overlap with the first ones on a second core, and the check also covers "another
 * process, same machine". `--once` skips them.
 *
 *   npx tsx bench/fl-synthetic.ts [--rounds 100] [--epochs 20] [--batch 10] [--lr 0.01]
 *                                 [--mu 1] [--seed 0] [--every 10] [--backend cpu|wasm] [--once]
 *
 * Wall-clock time is read here only (benchmarks may).
 */
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type BackendName, describeBackend, initBackend } from '../src/runtime/backend.js';
import { SimulationCore } from '../src/runtime/index.js';
import { syntheticFedProx } from '../src/fl/data/synthetic.js';
import { type FederatedResult, type StrategyConfig, concatDatasets, formatRoundsTable, nn, runFederated } from '../src/fl/index.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '100' },
    epochs: { type: 'string', default: '20' },
    batch: { type: 'string', default: '10' },
    lr: { type: 'string', default: '0.01' },
    mu: { type: 'string', default: '1' },
    alpha: { type: 'string', default: '0.01' },
    /** Comma-separated: fedavg, fedprox, scaffold, fednova, feddyn. */
    strategies: { type: 'string', default: 'fedavg,fedprox' },
    seed: { type: 'string', default: '0' },
    every: { type: 'string', default: '10' },
    backend: { type: 'string' },
    once: { type: 'boolean', default: false },
    /** Internal: run every configuration once and print their digests as JSON (the reproducibility check). */
    child: { type: 'boolean', default: false },
  },
});
const rounds = Number(values.rounds);
const epochs = Number(values.epochs);
const batchSize = Number(values.batch);
const lr = Number(values.lr);
const mu = Number(values.mu);
const seed = Number(values.seed);

await initBackend(values.backend as BackendName | undefined);
const backend = describeBackend();

const devices = syntheticFedProx({ alpha: 1, beta: 1, devices: 30 }, { seed, name: 'data/synthetic(1,1)' });
const clients = devices.map((d) => ({ x: d.trainX, y: d.trainY, testX: d.testX, testY: d.testY }));
const testSet = concatDatasets(devices.map((d) => ({ x: d.testX, y: d.testY })));
const trainSamples = devices.reduce((n, d) => n + d.nTrain, 0);

async function run(strategy: StrategyConfig): Promise<{ result: FederatedResult; seconds: number; events: number }> {
  const sim = new SimulationCore({ seed, keepLog: false });
  const start = performance.now();
  const result = await runFederated(sim, {
    model: nn.logistic(60, 10),
    clients,
    testSet,
    strategy,
    rounds,
    fraction: 10 / 30,
    localEpochs: epochs,
    batchSize,
    lr,
    clientEvaluation: 'none',
    trainEvaluation: 'every-round',
  });
  return { result, seconds: (performance.now() - start) / 1000, events: sim.log.length };
}

const known: Record<string, [string, StrategyConfig]> = {
  fedavg: ['FedAvg', { name: 'fedavg' }],
  fedprox: [`FedProx (μ = ${mu})`, { name: 'fedprox', mu }],
  scaffold: ['SCAFFOLD', { name: 'scaffold' }],
  fednova: ['FedNova', { name: 'fednova' }],
  feddyn: [`FedDyn (α = ${values.alpha})`, { name: 'feddyn', alpha: Number(values.alpha) }],
};
const configurations: Array<[string, StrategyConfig]> = values.strategies.split(',').map((name) => {
  const entry = known[name.trim()];
  if (!entry) throw new Error(`--strategies: unknown '${name}'; known: ${Object.keys(known).join(', ')}`);
  return entry;
});

if (values.child) {
  const digests: Record<string, { sha: string; seconds: number }> = {};
  for (const [label, strategy] of configurations) {
    const { result, seconds } = await run(strategy);
    digests[label] = { sha: result.weightsSha256, seconds };
  }
  console.log(JSON.stringify(digests));
  process.exit(0);
}

/** The same configurations again, in a fresh process running alongside this one. */
function rerunInChild(): Promise<Record<string, { sha: string; seconds: number }>> {
  const args = ['--import', 'tsx', fileURLToPath(import.meta.url), ...process.argv.slice(2), '--child', '--backend', backend.name];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.trim().split('\n').at(-1) ?? '';
      if (code === 0 && line.startsWith('{')) resolve(JSON.parse(line));
      else reject(new Error(`the rerun process exited with code ${code}: ${out.slice(-500)}`));
    });
  });
}

const rerun = values.once ? undefined : rerunInChild();
console.log(`# ${configurations.map(([label]) => label).join(' vs ')} on Synthetic(1,1)\n`);
console.log(
  `30 devices (${trainSamples} training / ${testSet.y.length} test samples), 10 per round, logistic regression, ` +
    `E = ${epochs}, B = ${batchSize}, η = ${lr}, ${rounds} rounds, seed ${seed}; backend ${backend.name} ${backend.version} (${backend.detail}).\n`,
);
const firsts: Array<{ label: string; result: FederatedResult; seconds: number }> = [];
for (const [label, strategy] of configurations) {
  const { result, seconds } = await run(strategy);
  firsts.push({ label, result, seconds });
  console.log(`## ${label}\n`);
  console.log(formatRoundsTable(result.rounds, { every: Number(values.every) }));
  console.log('');
}
const second = rerun ? await rerun : undefined;
console.log('## Summary\n');
console.log('| strategy | final test acc | final global train loss | sha256 run 1 | sha256 run 2 (other process) | runs | wall s / run |');
console.log('|---|---:|---:|---|---|---|---:|');
for (const { label, result, seconds } of firsts) {
  const last = result.rounds.at(-1)!;
  const other = second?.[label]?.sha;
  const same = other === undefined ? 'not rerun' : other === result.weightsSha256 ? 'equal' : 'DIFFERENT';
  console.log(
    `| ${label} | ${last.testAccuracy!.toFixed(4)} | ${last.globalTrainLoss!.toFixed(4)} | \`${result.weightsSha256.slice(0, 16)}…\` | ` +
      `${other ? '`' + other.slice(0, 16) + '…`' : '–'} | ${same} | ${seconds.toFixed(1)} |`,
  );
}
if (second && firsts.some(({ label, result }) => second[label]?.sha !== result.weightsSha256)) process.exitCode = 1;
