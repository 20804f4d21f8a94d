/**
 * A TrainingPool whose one thread is the NATS bridge (nats-bridge.ts): `fedsim run FILE
 * --train-nats URL` and runFederated({ workers: natsTrainingPool(…) }) train clients in
 * `fedsim train-worker` processes, with the round engine, the prefetcher and every check on
 * the simulation's side unchanged (src/fl/parallel/). See docs/distributed-training.md.
 */
import type { NatsConnectionSettings } from '../../runtime/transport/nats/connection.js';
import { FlConfigError } from '../errors.js';
import { TrainingPool, moduleFile } from '../parallel/training-pool.js';
import type { NatsBridgeSettings } from './nats-bridge.js';
import { DEFAULT_TRAIN_SUBJECT } from './protocol.js';

export interface NatsTrainingOptions {
  connection: NatsConnectionSettings;
  /** Subject prefix (default 'fedsim.train'); experiments sharing a server at once need one each, and their workers the same. */
  subject?: string;
  /** Real-time ms a worker may hold a task before it goes to another (default 60 000: long enough for a big client's training). */
  leaseMs?: number;
  /** Leases a task gets before its client trains in the simulation's process (default 3). */
  attempts?: number;
}

const SUBJECT = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

export function natsTrainingPool(options: NatsTrainingOptions): TrainingPool {
  const subject = options.subject ?? DEFAULT_TRAIN_SUBJECT;
  if (!SUBJECT.test(subject)) throw new FlConfigError(`natsTrainingPool: subject ${JSON.stringify(subject)} is not a NATS subject prefix of dot-separated tokens (letters, digits, _ and -), e.g. 'fedsim.train.mnist'`, { field: 'subject' });
  const whole = (name: string, value: number | undefined, fallback: number, min: number) => {
    const n = value ?? fallback;
    if (!Number.isInteger(n) || n < min) throw new FlConfigError(`natsTrainingPool: ${name} must be a whole number ≥ ${min}, got ${JSON.stringify(value)}`, { field: name });
    return n;
  };
  const settings: NatsBridgeSettings = {
    connection: options.connection,
    subject,
    leaseMs: whole('leaseMs', options.leaseMs, 60_000, 1),
    attempts: whole('attempts', options.attempts, 3, 1),
    holdMs: 2_000,
  };
  return new TrainingPool(1, { program: { file: moduleFile(import.meta.url, './nats-bridge'), settings, name: 'NATS training bridge' } });
}
