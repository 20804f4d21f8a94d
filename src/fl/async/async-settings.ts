/**
 * The `async` settings of a federated run: which asynchronous algorithm the server runs,
 * how many clients train at once, and when the run ends.
 *
 *   async:
 *     algorithm: fedbuff        # or fedasync
 *     concurrency: 10           # clients training at once (a slot is re-used when its update arrives or times out)
 *     bufferSize: 5             # fedbuff: K updates per server step
 *     serverLr: 1               # fedbuff: η_g
 *     mixing: 0.6               # fedasync: α
 *     staleness: { kind: polynomial, a: 0.5 }   # default for both (fedbuff's 1/√(1+τ))
 *     maxServerUpdates: 100     # the run ends at the first server update at which either bound is reached
 *     maxClientUpdates: 1000
 *     dispatchTimeoutMs: 60000  # a dispatch with no answer this long is given up (default: roundDeadlineMs)
 *     retryMs: 15000            # its fit is re-sent this often meanwhile (default: a quarter of the timeout)
 *     stallTimeoutMs: 600000    # no accepted update for this long: the run fails (default: 10 × the timeout;
 *                               #   with devices at least one virtual day, as clients may all be offline for hours)
 *
 * Deadlines are checked when the server's retry timer fires (every retryMs), so a dispatch is
 * given up at most retryMs after its deadline; the same timer fills slots that found no
 * client online.
 */
import { z } from 'zod';
import { FlConfigError } from '../errors.js';
import { FEDBUFF_STALENESS, StalenessFunctionSchema } from './staleness.js';

const count = z.number().int().min(1);
const ms = z.number().positive().finite();

const common = {
  concurrency: count,
  staleness: StalenessFunctionSchema.optional(),
  maxServerUpdates: count.optional(),
  maxClientUpdates: count.optional(),
  dispatchTimeoutMs: ms.optional(),
  retryMs: ms.optional(),
  stallTimeoutMs: ms.optional(),
};

export const AsyncSettingsSchema = z
  .discriminatedUnion('algorithm', [
    z.object({ algorithm: z.literal('fedbuff'), bufferSize: count, serverLr: z.number().positive().finite().default(1), ...common }).strict(),
    z.object({ algorithm: z.literal('fedasync'), mixing: z.number().gt(0).max(1), ...common }).strict(),
  ])
  .superRefine((s, ctx) => {
    if (s.maxServerUpdates === undefined && s.maxClientUpdates === undefined) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['maxServerUpdates'], message: 'an async run needs a bound: set maxServerUpdates (server updates) or maxClientUpdates (accepted client updates), or both' });
    }
  });
export type AsyncSettings = z.infer<typeof AsyncSettingsSchema>;
export type AsyncSettingsInput = z.input<typeof AsyncSettingsSchema>;

/** The settings with every default resolved (timeouts from the run's deadline). */
export interface AsyncPlan {
  algorithm: 'fedbuff' | 'fedasync';
  concurrency: number;
  /** FedBuff's K (1 under FedAsync: every update is a server update). */
  bufferSize: number;
  serverLr: number;
  mixing: number;
  staleness: z.infer<typeof StalenessFunctionSchema>;
  maxServerUpdates: number;
  maxClientUpdates: number;
  dispatchTimeoutMs: number;
  retryMs: number;
  stallTimeoutMs: number;
}

/** Parses `value` (the run's `async` option), naming the first bad field. */
export function parseAsyncSettings(value: unknown, at = 'runAsyncFederated'): AsyncSettings {
  const result = AsyncSettingsSchema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = ['async', ...issue.path].join('.');
  throw new FlConfigError(`${at}: ${field}: ${issue.message}`, { field });
}

const VIRTUAL_DAY_MS = 86_400_000;

export function asyncPlanOf(settings: AsyncSettings, run: { roundDeadlineMs: number; fitRetryMs?: number }, withDevices = false): AsyncPlan {
  const dispatchTimeoutMs = settings.dispatchTimeoutMs ?? run.roundDeadlineMs;
  return {
    algorithm: settings.algorithm,
    concurrency: settings.concurrency,
    bufferSize: settings.algorithm === 'fedbuff' ? settings.bufferSize : 1,
    serverLr: settings.algorithm === 'fedbuff' ? settings.serverLr : 1,
    mixing: settings.algorithm === 'fedasync' ? settings.mixing : 1,
    staleness: settings.staleness ?? FEDBUFF_STALENESS,
    maxServerUpdates: settings.maxServerUpdates ?? Infinity,
    maxClientUpdates: settings.maxClientUpdates ?? Infinity,
    dispatchTimeoutMs,
    retryMs: settings.retryMs ?? run.fitRetryMs ?? dispatchTimeoutMs / 4,
    stallTimeoutMs: settings.stallTimeoutMs ?? (withDevices ? Math.max(10 * dispatchTimeoutMs, VIRTUAL_DAY_MS) : 10 * dispatchTimeoutMs),
  };
}
