/**
 * The fedsim command line: run scenarios, replay and diff their logs, explore seeds, account for privacy.
 *
 *   npx fedsim <command> …     (bin/fedsim.js; or `npm run fedsim -- …`; not `tsx src/cli/main.ts`, which
 *   lacks the 'fedsim-source' condition that scenario files' `import … from 'fedsim'` needs in a checkout)
 */
import { Command, CommanderError, Option } from 'commander';
import { FedsimError } from '../runtime/errors.js';
import { describeExperimentKinds } from '../scenario/experiment-kinds.js';
import { FEDSIM_VERSION } from '../version.js';
import { CliError, EXIT_FAILED, EXIT_USAGE } from './cli-error.js';
import { installCrashHandlers, printFailure, setDebug } from './failure-output.js';
import { addNatsAuthFlags, addNatsFlags } from './nats-options.js';
import { DIURNAL_FLAGS, flagOf } from './commands/trace-flags.js';
import { CLI_MAX_STEPS, byteSizeOption, checkpointEveryOption, limitOption, maxStepsOption, optionParser, paramOption, portOption, seedOption, setOption, seedRangeOption, strategyOption, workersOption } from './run-options.js';

const nonNegativeInt = (what: string) =>
  optionParser((text) => {
    if (!/^\d+$/.test(text.trim())) throw new Error(`${what} must be a non-negative integer, got '${text}'.`);
    return Number(text);
  });

/**
 * Commander's errors in one line: a bad option value is our parser's message alone (it names
 * the flag and how to write it), not "option '--seed <n>' argument '1.5' is invalid. Seed
 * 1.5 …"; other errors (an unknown option, a missing argument) get a pointer to --help.
 */
function commanderError(text: string): string {
  const invalid = /^error: (?:option|command-argument value) .*? is invalid\. ([\s\S]*)$/.exec(text);
  if (invalid && invalid[1].trim() !== '') return `error: ${invalid[1].trimEnd()}\n`;
  return `${text.trimEnd().replace(/\s*\n\s*/g, ' ')} (add --help for usage)\n`;
}

const positiveInt = (what: string) =>
  optionParser((text) => {
    if (!/^\d+$/.test(text.trim()) || Number(text) < 1) throw new Error(`${what} must be a positive integer, got '${text}'.`);
    return Number(text);
  });

const maxStepsFlag = () =>
  new Option('--max-steps <n>', `step budget of one await or settle: a message loop stops there with a LivelockError (default: the scenario's maxSteps, else ${CLI_MAX_STEPS.toLocaleString('en-US')})`).argParser(maxStepsOption);
const backendOption = () => new Option('--backend <name>', 'tfjs compute backend to start (tensorflow, wasm, cpu); recorded in the log header');
const quietOption = () => new Option('-q, --quiet', 'no progress display');
/** One flag for every command that reads event logs (replay, diff, view), with one wording. */
const maxLineCharsOption = () =>
  new Option('--max-line-chars <n>', 'longest log line accepted (default 1048576); longer lines mean a damaged or foreign file').argParser(positiveInt('--max-line-chars'));
const limitFlag = () =>
  new Option('--limit <name=value>', 'raise a limit on what the scenario file may ask for (repeatable): fileBytes, yamlAliases, and per kind e.g. rounds, clients').argParser(limitOption);

export function buildProgram(): Command {
  const program = new Command('fedsim')
    .description('fedsim: a deterministic actor-model simulator for privacy-preserving federated learning.\nEvery run is reproducible from its seed: run scenarios, replay and diff their event logs, explore seeds for bugs.')
    .version(FEDSIM_VERSION)
    .option('--debug', 'on failure, also print the stack trace (any command; e.g. fedsim run x.yaml --debug)')
    .configureOutput({ outputError: (text, write) => write(commanderError(text)) })
    .configureHelp({ sortSubcommands: false })
    .addHelpText(
      'after',
      `
Exit codes: 0 success, 1 a check failed / the run failed / the runs differ / a seed failed / a replay was refused,
2 usage error (bad flag, missing or invalid file), 130 interrupted (Ctrl-C). A failure prints its reason on stderr;
add --debug for the stack trace.

Examples:
  $ fedsim run scenarios/ping-pong.ts --seed 7
  $ fedsim run scenarios/stale-update-bug.ts --faults scenarios/faults/stale-update.json --out runs/stale
  $ fedsim replay runs/ping-pong-seed7/run.jsonl --until 40 --inspect alice
  $ fedsim diff runs/a/run.jsonl runs/b/run.jsonl
  $ fedsim view runs/stale --diff runs/fixed
  $ fedsim compare runs/lr0.01 runs/lr0.05 --out runs/lr.html
  $ fedsim sweep scenarios/sweeps/synthetic-fedprox-lr-mu.yaml --out runs/lr-mu
  $ fedsim explore scenarios/stale-update-bug.ts --seeds 1..500 --faults scenarios/faults/stale-update.json
  $ fedsim export runs/syn --csv --tensorboard --model
  $ fedsim privacy --sampling-rate 0.01 --steps 1000 --noise-multiplier 1.1 --delta 1e-5
  $ fedsim trace diurnal --clients 100 --days 2 --seed 7 -o traces/diurnal-100x2d.json

Scenario files: TypeScript/JavaScript modules whose default export is defineScenario({ name, run, checks }),
or YAML/JSON experiment files with a \`kind\`. Known kinds:`,
    )
    // A function: the kinds are those registered by the time the help is printed (main() loads them first).
    .addHelpText('after', () => describeExperimentKinds().map((k) => `  ${k}`).join('\n'));

  const runCommandSpec = program
    .command('run')
    .description('Run a scenario once: progress, a summary, the event log, results.json and a self-contained report.html.')
    .argument('<scenario>', 'scenario file (.ts/.js module or .yaml/.yml/.json experiment)')
    .option('--seed <n>', 'root seed (default: the scenario\'s, else 0)', seedOption)
    .option('--faults <plan>', 'fault plan: a JSON file, or inline JSON (replaces the scenario\'s own plan)')
    .option('--strategy <s>', 'scheduling strategy: fifo-random (default), random, pct, pct:<depth>[:<maxSteps>]', strategyOption)
    .option('--record <file>', 'where to write the event log (default: <out>/run.jsonl)')
    .option('--out <dir>', 'output directory (default: runs/<scenario>-seed<N>/)')
    .option('--strict', 'encode and decode every message (proves payloads can cross a real wire)')
    .option('--set <key=value>', 'set a field of an experiment file (repeatable; dotted paths, JSON values: --set lr=0.05 --set data.devices=10), or a module\'s ctx.params; an unknown field is refused', setOption)
    .option('--param <key=value>', 'the older name of --set', paramOption)
    .addOption(limitFlag())
    .addOption(maxStepsFlag())
    .addOption(new Option('--max-log-bytes <size>', 'stop the run once its event log is this large, e.g. 2GB (default: no limit; a log takes ~200 bytes per event)').argParser(byteSizeOption('--max-log-bytes')))
    .addOption(backendOption())
    .addOption(new Option('--workers <n>', 'train the clients of a federated run in <n> worker threads (default 1); the log and results are the same with any number').argParser(workersOption))
    .addOption(new Option('--checkpoint-every <n>', 'FL experiments: write a checkpoint every <n> rounds (async: server updates) into <out>/checkpoints/, for fedsim resume').argParser(checkpointEveryOption))
    .addOption(new Option('--train-nats <url>', 'train the clients of a federated run in `fedsim train-worker` processes through this NATS server; the log and results are the same'))
    .addOption(new Option('--train-subject <prefix>', 'with --train-nats: the subject prefix the workers use (default fedsim.train; one per experiment sharing a server)'))
    .addOption(quietOption())
    .addOption(new Option('--transport <name>', 'sim (default: the deterministic in-process simulation) or nats (live: workers in `fedsim worker` processes, real time)'))
    .addOption(new Option('--clients-on-workers', 'with --transport nats, FL experiments: the clients run in `fedsim worker --experiment FILE` processes (the server stays here); a worker that dies is its clients\' dropout'));
  addNatsFlags(runCommandSpec, 'NATS server URL(s) for --transport nats, e.g. nats://127.0.0.1:4222');
  runCommandSpec
    .addHelpText(
      'after',
      `
Examples:
  $ fedsim run scenarios/ping-pong.ts --seed 7
  $ fedsim run scenarios/ping-pong.ts --param rounds=10 --faults '{"duplicate":0.05}'
  $ fedsim run scenarios/stale-update-bug.ts --seed 3 --faults scenarios/faults/stale-update.json --out runs/stale

  $ fedsim run scenarios/pointers-basics.ts --transport nats --nats nats://127.0.0.1:4222   (with a fedsim worker hosting bob)

The event log, results.json and report.html are written under .partial names and renamed into place when the
run is complete, so an interrupted or crashed run never replaces the outputs of an earlier one. Ctrl-C stops the
run and keeps its log so far as run.jsonl.partial. With --checkpoint-every N (FL experiments), a run that stopped
goes on with fedsim resume <out> (docs/checkpoint-resume.md).

Exit code 0 when every check holds, 1 when a check fails or the run throws, 130 when interrupted (Ctrl-C).`,
    )
    .action(async (scenario: string, options) => {
      const { runCommand } = await import('./commands/run.js');
      process.exitCode = await runCommand(scenario, options);
    });

  addNatsFlags(
    program
      .command('worker')
      .description('Host actors for live runs: a driver (fedsim run FILE --transport nats) places its workers (--actors) or its FL clients (--experiment, with --clients-on-workers) here over NATS.')
      .option('--actors <ids>', 'the actor ids this process hosts, comma-separated (e.g. alice,bob)')
      .option('--experiment <file>', 'host the FL clients of this experiment file, for `fedsim run FILE --transport nats --clients-on-workers` (the same file and --set as the driver)')
      .option('--clients <ids>', 'with --experiment: only these clients, comma-separated ids or patterns with * (e.g. \'client-0*\'); default all')
      .option('--set <key=value>', 'with --experiment: set a field of the experiment file, as the driver\'s --set (repeatable)', setOption)
      .addOption(limitFlag())
      .option('--name <name>', 'this process\'s name in recordings (default: worker-<pid>@<host>)')
      .addOption(backendOption())
      .addOption(quietOption()),
    'NATS server URL(s), e.g. nats://127.0.0.1:4222',
  )
    .addHelpText(
      'after',
      `
Examples:
  $ nats-server -a 127.0.0.1 &
  $ fedsim worker --nats nats://127.0.0.1:4222 --actors bob,alice &
  $ fedsim run scenarios/pointer-chains.ts --transport nats --nats nats://127.0.0.1:4222

  $ fedsim worker --nats nats://127.0.0.1:4222 --experiment exp.yaml --clients 'client-0*' &
  $ fedsim worker --nats nats://127.0.0.1:4222 --experiment exp.yaml --clients 'client-1*' &
  $ fedsim run exp.yaml --transport nats --nats nats://127.0.0.1:4222 --clients-on-workers

It runs until stopped (Ctrl-C or SIGTERM) and serves one run after another. Envelopes for actors it does not host,
or that fail the transport's checks, are refused and recorded as dropped in the run's recording.`,
    )
    .action(async (options) => {
      const { workerCommand } = await import('./commands/worker.js');
      process.exitCode = await workerCommand(options);
    });

  program
    .command('replay')
    .description('Re-execute a recorded run from its log header and check it event by event; optionally stop at an event and show the actors\' state.')
    .argument('<log>', 'event log written by `fedsim run` (run.jsonl), or the run directory that holds it')
    .option('--until <seq>', 'stop once event <seq> has happened and print every actor\'s state', nonNegativeInt('--until'))
    .option('--inspect <actor>', 'show only this actor\'s state (at --until, or at the end of the run)')
    .addOption(maxLineCharsOption())
    .option('--project <dir>', 'the project the log was made in: its scenario file is looked up there (default: the project of the working directory, then of the log)')
    .option('--allow-unverified-scenario', 'replay a log that has no sha256 of its scenario file (recorded before fedsim kept one), with the file as it is now')
    .addOption(new Option('--max-steps <n>', 'step budget of one await or settle (default: the one the log header records)').argParser(maxStepsOption))
    .addOption(quietOption())
    .addHelpText(
      'after',
      `
Examples:
  $ fedsim replay runs/ping-pong-seed7/run.jsonl
  $ fedsim replay runs/ping-pong-seed7/run.jsonl --until 40
  $ fedsim replay runs/stale/run.jsonl --until 120 --inspect server

The log is checked first (header, line ends, every event's seq and time) and then streamed: a log of any size
replays in bounded memory. The scenario file the header names is imported only if it lies inside the project and
its sha256 is the one the header records (the file as it was when the run was made).

Replay runs the scenario code a log names: a log from someone else is as trusted as their code.

Exit code 0 when the run matches the log, 1 at the first divergence (printed with the expected and actual event)
or when the header does not match this fedsim, scenario or backend; 2 when the log is damaged.`,
    )
    .action(async (log: string, options) => {
      const { replayCommand } = await import('./commands/replay.js');
      process.exitCode = await replayCommand(log, options);
    });

  program
    .command('diff')
    .description('Show where two event logs first differ, with context on each side.')
    .argument('<a>', 'first event log')
    .argument('<b>', 'second event log')
    .option('--context <n>', 'events of context around the divergence (default 3)', nonNegativeInt('--context'))
    .option('--ignore-header', 'compare the events only: logs whose headers differ (seed, faults, …) but whose events are the same count as identical')
    .addOption(maxLineCharsOption())
    .addHelpText(
      'after',
      `
Example:
  $ fedsim diff runs/ping-pong-seed1/run.jsonl runs/ping-pong-seed2/run.jsonl

Exit code 0 when the logs are identical (header and events), 1 when they differ — in their headers alone too
(another seed, fault plan, backend…), unless --ignore-header.`,
    )
    .action(async (a: string, b: string, options) => {
      const { diffCommand } = await import('./commands/diff.js');
      process.exitCode = diffCommand(a, b, options);
    });

  program
    .command('view')
    .description('Look at a run in the browser: one lane per actor on virtual time, messages as arrows, faults marked; click an event for the message and every actor\'s state there; step, filter, search, jump to the divergence from another run.')
    .argument('<run>', 'run directory written by `fedsim run FILE --out DIR`, its run.jsonl (or any event log), or its results.json')
    .option('--out <file>', 'where to write the self-contained HTML viewer (default: viewer.html next to the log)')
    .option('--serve', 'serve the viewer on 127.0.0.1 (and answer exact states at any event by replay) instead of writing a file; with --out, both')
    .option('--port <n>', 'port for --serve (default: any free port)', portOption)
    .option('--diff <run>', 'another run of the same scenario: mark the first event where the two differ and open there')
    .option('--no-states', 'do not replay the run for the actors\' states and payloads (a log whose scenario cannot run here)')
    .option('--state-every <n>', 'keep the actors\' states at every n-th event (default 1, or more for logs over 20,000 events)', positiveInt('--state-every'))
    .option('--project <dir>', 'the project the log was made in (where its scenario file is looked up, as fedsim replay --project)')
    .addOption(maxLineCharsOption())
    .addHelpText(
      'after',
      `
Examples:
  $ fedsim run scenarios/stale-update-delays.yaml --out runs/stale
  $ fedsim view runs/stale                                   # writes runs/stale/viewer.html
  $ fedsim run scenarios/stale-update-delays.yaml --set fixed=true --out runs/fixed
  $ fedsim view runs/stale --diff runs/fixed                 # opens where the runs part ways
  $ fedsim view runs/big --serve --port 8080                 # http://127.0.0.1:8080/

The page needs no network: its code and data are inline. The same run gives the same bytes. States come from
re-executing the run (as fedsim replay does), so the scenario file must be the one that made the log.
Many actors: lanes keep a readable width and scroll sideways; the actor filter shows only that actor's lanes and
those of the actors it exchanges messages with.
Keys, modes and limits: docs/viewer.md. Exit code 0 when the page was written (or served), 1 when the run does
not replay here (see --no-states), 2 for a missing or damaged run.`,
    )
    .action(async (run: string, options) => {
      const { viewCommand } = await import('./commands/view.js');
      process.exitCode = await viewCommand(run, options);
    });

  program
    .command('compare')
    .description('Overlay the curves of experiment runs (accuracy and loss against rounds and virtual time, bytes sent) and set their settings side by side, differences highlighted, in one self-contained HTML file.')
    .argument('<runs...>', 'run directories written by `fedsim run FILE --out DIR` (or their results.json)')
    .option('--out <file>', 'where to write the HTML report (default: compare.html)')
    .option('--title <text>', 'the report\'s title (default: "Comparison of N runs")')
    .addHelpText(
      'after',
      `
Example:
  $ fedsim run scenarios/experiments/synthetic-fedavg.yaml --set lr=0.01 --out runs/lr0.01
  $ fedsim run scenarios/experiments/synthetic-fedavg.yaml --set lr=0.05 --out runs/lr0.05
  $ fedsim compare runs/lr0.01 runs/lr0.05 --out runs/lr.html

Only results.json is read. The report is a pure function of the runs (no timestamps): the same runs give the same
bytes. Exit code 0 when the report was written, 2 when a run is missing, damaged or not an experiment run.`,
    )
    .action(async (runs: string[], options) => {
      const { compareCommand } = await import('./commands/compare.js');
      process.exitCode = compareCommand(runs, options);
    });

  program
    .command('sweep')
    .description('Run an experiment over a grid of settings × seeds (a sweep file), each run in its own directory, then one comparison report over all of them.')
    .argument('<sweep>', 'sweep file (.yaml/.yml/.json with kind: sweep)')
    .option('--out <dir>', 'output directory: one run directory per grid point and seed, and compare.html (default: runs/sweep-<name>/)')
    .addOption(new Option('--limit <name=value>', 'raise a limit (repeatable): runs (of the sweep, default 100), or one of each run\'s (rounds, clients, …)').argParser(limitOption))
    .addOption(maxStepsFlag())
    .addOption(backendOption())
    .addOption(quietOption())
    .addHelpText(
      'after',
      `
A sweep file:
  kind: sweep
  experiment: ../scenarios/experiments/synthetic-fedprox.yaml  # relative to the sweep file
  set: { rounds: 20 }                                           # every run, as --set
  grid: { lr: [0.01, 0.05], algorithm.mu: [0, 0.1] }            # fields as --set names them
  seeds: [0, 1, 2]

Example:
  $ fedsim sweep scenarios/sweeps/synthetic-fedprox-lr-mu.yaml --out runs/lr-mu   # runs/lr-mu/lr=0.01,algorithm.mu=0,seed=0/ … compare.html

Every run's settings are validated before the first run starts. Runs go one after another. Exit code 0 when every
run passed, 1 when some run failed (the report is written all the same), 2 for a bad sweep file or grid value.`,
    )
    .action(async (file: string, options) => {
      const { sweepCommand } = await import('./commands/sweep.js');
      process.exitCode = await sweepCommand(file, options);
    });

  program
    .command('explore')
    .description('Run a scenario under many seeds, report each failing seed with a command that reproduces it, and shrink its faults to a minimal script.')
    .argument('<scenario>', 'scenario file')
    .addOption(new Option('--seeds <range>', 'seeds to try: 1..500, 1,5,9 or 1..10,42').argParser(seedRangeOption).default(seedRangeOption('1..100'), '1..100'))
    .option('--faults <plan>', 'fault plan: a JSON file, or inline JSON')
    .option('--strategy <s>', 'scheduling strategy: fifo-random (default), random, pct, pct:<depth>[:<maxSteps>]', strategyOption)
    .option('--strict', 'encode and decode every message')
    .option('--out <dir>', 'where shrunk fault plans and explore.json go (default: runs/explore-<scenario>/)')
    .option('--shrink <n>', 'shrink the faults of the first <n> failing seeds (default 3)', nonNegativeInt('--shrink'))
    .option('--max-failures <n>', 'stop after <n> failing seeds', nonNegativeInt('--max-failures'))
    .addOption(limitFlag())
    .addOption(maxStepsFlag())
    .addOption(quietOption())
    .addHelpText(
      'after',
      `
Shrinking: the faults a failing run actually suffered (read from its log) become a script aimed at message ids;
the script is checked to reproduce the failure, then delta-debugged to a minimal failing subset.

Example:
  $ fedsim explore scenarios/stale-update-bug.ts --seeds 1..500 --faults scenarios/faults/stale-update.json

Exit code 0 when every seed passes, 1 when some seed fails.`,
    )
    .action(async (scenario: string, options) => {
      const { exploreCommand } = await import('./commands/explore.js');
      process.exitCode = await exploreCommand(scenario, options);
    });

  program
    .command('resume')
    .description('Continue a run that stopped (killed, crashed, Ctrl-C) from its last checkpoint (written by fedsim run --checkpoint-every).')
    .argument('<run>', 'run directory written by `fedsim run FILE --checkpoint-every N --out DIR`')
    .option('--project <dir>', 'the project the run was made in (where its scenario file is looked up, as for replay)')
    .addOption(new Option('--workers <n>', 'train the clients in <n> worker threads (default 1); the run is the same with any number').argParser(workersOption))
    .addOption(quietOption())
    .addHelpText(
      'after',
      `
Examples:
  $ fedsim run scenarios/experiments/synthetic-fedavg.yaml --checkpoint-every 5 --out runs/syn
  $ fedsim resume runs/syn

The resumed run's event log, results and final weights are byte for byte those of an uninterrupted run. The state
of the rounds up to the checkpoint is rebuilt by re-executing them from the seed, checked event by event against
the stopped run's log; see docs/checkpoint-resume.md. Exit codes as fedsim run; 1 also when the re-executed run
differs from the checkpointed log, 2 when the run has no usable checkpoint or is complete.`,
    )
    .action(async (run: string, options) => {
      const { resumeCommand } = await import('./commands/resume.js');
      process.exitCode = await resumeCommand(run, options);
    });

  program
    .command('export')
    .description('Export an FL experiment\'s run: per-round metrics as CSV or TensorBoard event files, the final global model as a tfjs-layers model.')
    .argument('<run>', 'run directory written by `fedsim run FILE --out DIR` (or its results.json)')
    .option('--csv [file]', 'per-round metrics as CSV (default <run>/metrics.csv)')
    .option('--clients-csv [file]', 'per client and round (participant/dropped and why, samples, train loss, training time, bytes, async staleness) as CSV (default <run>/clients.csv)')
    .option('--tensorboard [dir]', 'per-round metrics as a TensorBoard event file (default <run>/tensorboard/)')
    .option('--model [dir]', 'the final global model as model.json + weights.bin for tf.loadLayersModel (default <run>/tfjs-model/)')
    .addHelpText(
      'after',
      `
Examples:
  $ fedsim run scenarios/experiments/synthetic-fedavg.yaml --out runs/syn
  $ fedsim export runs/syn --csv --tensorboard --model
  $ fedsim export runs/syn --clients-csv
  $ fedsim export runs/syn --csv metrics/syn.csv && tensorboard --logdir runs/syn/tensorboard

The same run always exports to the same bytes. TensorBoard's wall_time is the round's virtual time (seconds
since the run's start), never the clock. The model outputs logits, as fedsim's own (no softmax is added).`,
    )
    .action(async (run: string, options) => {
      const { exportCommand } = await import('./commands/export.js');
      process.exitCode = await exportCommand(run, options);
    });

  program
    .command('privacy')
    .description('Compute ε of Poisson-sampled Gaussian steps (DP-SGD, DP-FedAvg) at a δ, or the noise multiplier that meets a target ε.')
    .option('--sampling-rate <q>', 'probability q ∈ (0, 1] that a record (client) takes part in a step')
    .option('--steps <n>', 'number of noisy steps (rounds)')
    .option('--dataset-size <n>', 'instead of --sampling-rate and --steps: the number of records …')
    .option('--batch-size <n>', '… the expected batch size (q = batch size / dataset size) …')
    .option('--epochs <e>', '… and the passes over the data (steps = ⌈epochs · dataset size / batch size⌉, as TF Privacy)')
    .option('--noise-multiplier <σ>', 'noise standard deviation / L2 sensitivity: compute ε')
    .option('--epsilon <ε>', 'instead of --noise-multiplier: solve for the smallest noise multiplier with ε at most this')
    .option('--delta <δ>', 'the δ of (ε, δ)-DP, in (0, 1), e.g. 1e-5')
    .addOption(new Option('--accountant <kind>', 'rdp (Rényi DP, default) or pld (privacy loss distribution: tighter, slower)'))
    .option('--discretization <Δ>', 'pld only: the grid step of privacy losses (default 1e-4; smaller is tighter and slower)')
    .option('--json', 'print one JSON object instead of the text lines')
    .addHelpText(
      'after',
      `
Examples:
  $ fedsim privacy --sampling-rate 0.004267 --noise-multiplier 1.1 --steps 14063 --delta 1e-5
  $ fedsim privacy --dataset-size 60000 --batch-size 256 --epochs 60 --noise-multiplier 1.1 --delta 1e-5
  $ fedsim privacy --sampling-rate 0.01 --steps 1000 --epsilon 2 --delta 1e-5
  $ fedsim privacy --sampling-rate 0.01 --steps 1000 --noise-multiplier 1.1 --delta 1e-5 --accountant pld

Prints "epsilon: X" (or "noise multiplier: S") on the first line, then the accountant, the Rényi order that gave
the bound and the parameters. The neighbouring relation is add-or-remove one record (one client for DP-FedAvg).

Exit code 0 on success, 2 for a bad or missing flag (named, with its valid range).`,
    )
    .action(async (options) => {
      const { privacyCommand } = await import('./commands/privacy.js');
      process.exitCode = privacyCommand(options);
    });

  const trainWorkerSpec = program
    .command('train-worker')
    .description('Train clients for experiments run with --train-nats: ask the NATS server for tasks, train each, send the result back (docs/distributed-training.md).')
    .option('--nats <url>', 'the NATS server the experiment uses, e.g. nats://127.0.0.1:4222');
  addNatsAuthFlags(trainWorkerSpec)
    .option('--subject <prefix>', 'the subject prefix (default fedsim.train; the experiment\'s --train-subject)')
    .addOption(new Option('--backend <name>', "tfjs compute backend to start (tensorflow, wasm, cpu): the experiment's (its log header names it)"))
    .option('--cache-mb <n>', 'megabytes of client data and weights kept between tasks (default 256)')
    .addOption(new Option('--crash-on-task <n>').hideHelp())
    .option('-q, --quiet', 'no line per task on stderr')
    .addHelpText(
      'after',
      `
Examples:
  $ nats-server -a 127.0.0.1 &
  $ fedsim train-worker --nats nats://127.0.0.1:4222 &
  $ fedsim train-worker --nats nats://127.0.0.1:4222 &
  $ fedsim run scenarios/default.yaml --train-nats nats://127.0.0.1:4222

Runs until Ctrl-C, between experiments too. Results are bit-identical to the in-process run whatever the number
of workers; a worker that dies mid-task costs its lease (60 s), then another worker (or the run itself) trains it.`,
    )
    .action(async (options) => {
      // Loaded when used: the NATS client is not needed by any other command.
      const { trainWorkerCommand } = await import('./commands/train-worker.js');
      process.exitCode = await trainWorkerCommand(options);
    });

  const trace = program
    .command('trace')
    .description('Make device trace files (availability and device profiles) for experiments\' `devices:` block: synthetic diurnal traces, or FedScale\'s traces converted.')
    .addHelpText(
      'after',
      `
Examples:
  $ fedsim trace diurnal --clients 100 --days 2 --seed 7 -o traces/diurnal-100x2d.json
  $ fedsim trace from-fedscale device.json behaviour.json -o traces/fedscale-1000.json --clients 1000 --days 7

The formats, the cost model and how to dump FedScale's pickles to JSON: docs/devices.md.`,
    );
  const diurnal = trace
    .command('diurnal')
    .description('Generate a seeded synthetic diurnal availability trace: online mostly at night (charging), a few short daytime sessions, clients spread over time zones.')
    .option('--clients <n>', 'clients (ids client-0 … zero-padded, as a fedavg experiment of n clients has them)')
    .option('--days <d>', 'days covered from virtual time 0 (midnight UTC); after them every client is offline')
    .option('--seed <s>', 'seed: the same seed and flags give the same trace, and the same as an experiment\'s `availability: { diurnal }` under that seed')
    .option('-o, --out <file>', 'where to write the JSON trace (default: stdout)');
  const diurnalHelp: Record<(typeof DIURNAL_FLAGS)[number], string> = {
    nightStartHour: 'mean local hour a night session starts (default 22)',
    nightStartJitterHours: 'standard deviation of that start, hours (default 1)',
    nightHours: 'median length of a night session, hours (default 7)',
    nightHoursSigma: 'lognormal σ of that length (default 0.3)',
    nightProbability: 'probability a client is online on a given night (default 0.8)',
    daySessions: 'mean daytime sessions per day, Poisson, 08:00–22:00 local (default 1)',
    daySessionMinutes: 'mean length of a daytime session, minutes, exponential (default 20)',
    timeZoneSpreadHours: 'clients\' whole-hour UTC offsets are uniform in [−spread/2, spread/2] (default 6)',
  };
  for (const field of DIURNAL_FLAGS) diurnal.option(`${flagOf(field)} <x>`, diurnalHelp[field]);
  diurnal.action(async (options) => {
    const { traceDiurnalCommand } = await import('./commands/trace.js');
    process.exitCode = traceDiurnalCommand(options);
  });
  trace
    .command('from-fedscale')
    .description('Convert FedScale\'s device capacity and behaviour traces (dumped from their pickles to JSON) into a fedsim device trace.')
    .argument('<device.json>', 'client_device_capacity as JSON: { <key>: { computation: ms/sample, communication: kbit/s } }')
    .argument('<behaviour.json>', 'client_behave_trace as JSON: { <key>: { active: [s…], inactive: [s…], finish_time, duration, model } }')
    .option('-o, --out <file>', 'where to write the JSON trace (default: stdout)')
    .option('--clients <n>', 'clients of the output, ids client-0 … (default: the smaller file\'s entry count); entries are reused cyclically past it')
    .option('--days <d>', 'availability to write: FedScale\'s sessions repeat every finish_time; unrolled to this many days (default: one period)')
    .option('--augmentation-factor <f>', 'training cost per sample relative to FedScale\'s inference `computation` (default 3, as FedScale)')
    .action(async (device: string, behaviour: string, options) => {
      const { traceFromFedScaleCommand } = await import('./commands/trace.js');
      process.exitCode = traceFromFedScaleCommand(device, behaviour, options);
    });
  for (const command of [trace, ...trace.commands]) command.exitOverride();

  return program;
}

/**
 * Commands that never read a scenario or experiment file. Every other command line (and the
 * help listing the kinds) loads the experiment kinds first — the FL layer and tfjs, about a
 * second of start-up that these commands skip.
 */
const NO_EXPERIMENT_FILES = new Set(['compare', 'diff', 'export', 'privacy', 'trace']);

export async function main(argv: string[]): Promise<number> {
  // Known before parsing, so that even a failure while parsing shows its stack when asked.
  setDebug(argv.includes('--debug'));
  if (!NO_EXPERIMENT_FILES.has(argv[2])) await import('./experiment-kinds.js');
  const program = buildProgram();
  program.exitOverride();
  for (const command of program.commands) command.exitOverride();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and --version "fail" with exit code 0; commander already printed the message.
      return error.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    if (error instanceof CliError) {
      printFailure('error', error);
      return error.exitCode;
    }
    // A FedsimError is a failure fedsim explains; anything else is a crash (a bug, or a library failing).
    printFailure(error instanceof FedsimError ? 'error' : 'fedsim crashed', error);
    return EXIT_FAILED;
  }
}

installCrashHandlers();
process.exitCode = await main(process.argv);
