/**
 * `fedsim train-worker --nats URL`: a process that trains clients for experiments started with
 * `fedsim run FILE --train-nats URL` (src/fl/distributed/train-worker.ts; docs/distributed-training.md).
 * Start as many as there are cores to spare, on any machine that reaches the server; each
 * takes one task at a time and keeps running between experiments until Ctrl-C.
 */
import { BACKEND_NAMES, type BackendName } from '../../runtime/backend.js';
import { runTrainWorker } from '../../fl/distributed/train-worker.js';
import { DEFAULT_TRAIN_SUBJECT } from '../../fl/distributed/protocol.js';
import { DEFAULT_THREAD_CACHE } from '../../fl/parallel/training-pool.js';
import { CliError, EXIT_OK, EXIT_USAGE } from '../cli-error.js';
import { type NatsFlags, natsSettings } from '../nats-options.js';

export interface TrainWorkerCommandOptions extends NatsFlags {
  subject?: string;
  backend?: string;
  /** Megabytes of client data and weights kept between tasks. */
  cacheMb?: string;
  /** Fault injection for tests (hidden): exit on taking the n-th task, before answering it. */
  crashOnTask?: string;
  quiet?: boolean;
}

export async function trainWorkerCommand(options: TrainWorkerCommandOptions): Promise<number> {
  if (options.nats === undefined) throw new CliError('fedsim train-worker: --nats URL is required (the server the experiment uses, e.g. --nats nats://127.0.0.1:4222)', EXIT_USAGE);
  if (options.backend !== undefined && !(BACKEND_NAMES as readonly string[]).includes(options.backend)) {
    throw new CliError(`--backend: expected one of ${BACKEND_NAMES.join(', ')}, got ${JSON.stringify(options.backend)}; use the backend the experiment runs (its log header names it)`, EXIT_USAGE);
  }
  const whole = (flag: string, text: string | undefined) => {
    if (text === undefined) return undefined;
    if (!/^\d+$/.test(text.trim()) || Number(text) < 1) throw new CliError(`${flag}: expected a whole number ≥ 1, got ${JSON.stringify(text)}`, EXIT_USAGE);
    return Number(text);
  };
  const cacheMb = whole('--cache-mb', options.cacheMb);
  const crashOnTask = whole('--crash-on-task', options.crashOnTask);
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  process.once('SIGTERM', () => stop.abort());
  const summary = await runTrainWorker({
    connection: natsSettings(options, 'fedsim train-worker'),
    subject: options.subject ?? DEFAULT_TRAIN_SUBJECT,
    ...(options.backend !== undefined ? { backend: options.backend as BackendName } : {}),
    cache: cacheMb === undefined ? DEFAULT_THREAD_CACHE : { entries: DEFAULT_THREAD_CACHE.entries, bytes: cacheMb * 1024 * 1024 },
    ...(crashOnTask !== undefined ? { crashOnTask } : {}),
    log: options.quiet ? undefined : (line) => process.stderr.write(`${line}\n`),
    signal: stop.signal,
  });
  process.stderr.write(`training worker ${summary.worker}: ${summary.trained} tasks trained, ${summary.failed} refused or failed\n`);
  return EXIT_OK;
}
