/**
 * Strategies as data: a `StrategyConfig` names an algorithm and its parameters, so
 * scenario files and messages can carry it; `createStrategy` makes the strategy object
 * for one run.
 *
 * One registry decides: each algorithm is an entry (its config schema and how to build
 * it) in STRATEGY_ENTRIES. Adding an algorithm is its own file plus one line there.
 */
import { z } from 'zod';
import { FlConfigError } from '../errors.js';
import { FedAvg, FedProx } from './fedavg.js';
import { FedAvgM } from './fedavgm.js';
import { FedOpt } from './fedopt.js';
import { Krum } from './krum.js';
import { FedMedian, FedTrimmedAvg } from './robust.js';
import type { Strategy } from './strategy.js';
import { Scaffold } from '../algorithms/scaffold.js';
import { FedNova } from '../algorithms/fednova.js';
import { FedDyn } from '../algorithms/feddyn.js';

/** Fields every strategy config may have: client sampling. */
export const samplingFields = {
  fraction: z.number().gt(0).max(1).optional(),
  minClients: z.number().int().min(1).optional(),
};
const adaptive = { ...samplingFields, eta: z.number().positive().optional(), beta1: z.number().min(0).lt(1).optional(), beta2: z.number().min(0).lt(1).optional(), tau: z.number().positive().optional() };

/** A registered algorithm: the schema of its config (with a literal `name`) and its constructor. */
export interface StrategyEntry<C extends { name: string } = any> {
  schema: z.ZodObject<any>;
  create(config: C): Strategy<any>;
}

export function strategyEntry<S extends z.ZodObject<{ name: z.ZodLiteral<string> } & z.ZodRawShape>>(schema: S, create: (config: z.infer<S>) => Strategy<any>): StrategyEntry {
  return { schema, create };
}

export const STRATEGY_ENTRIES: readonly StrategyEntry[] = [
  strategyEntry(z.object({ name: z.literal('fedavg'), ...samplingFields }).strict(), (c) => new FedAvg(c)),
  strategyEntry(z.object({ name: z.literal('fedprox'), mu: z.number().min(0), ...samplingFields }).strict(), (c) => new FedProx(c)),
  strategyEntry(z.object({ name: z.literal('fedavgm'), serverLr: z.number().positive().optional(), momentum: z.number().min(0).lt(1).optional(), ...samplingFields }).strict(), (c) => new FedAvgM(c)),
  strategyEntry(z.object({ name: z.literal('fedadagrad'), ...adaptive }).strict(), (c) => new FedOpt('adagrad', c)),
  strategyEntry(z.object({ name: z.literal('fedadam'), ...adaptive }).strict(), (c) => new FedOpt('adam', c)),
  strategyEntry(z.object({ name: z.literal('fedyogi'), ...adaptive }).strict(), (c) => new FedOpt('yogi', c)),
  strategyEntry(z.object({ name: z.literal('fedmedian'), ...samplingFields }).strict(), (c) => new FedMedian(c)),
  strategyEntry(z.object({ name: z.literal('fedtrimmedavg'), beta: z.number().min(0).lt(0.5).optional(), ...samplingFields }).strict(), (c) => new FedTrimmedAvg(c)),
  strategyEntry(z.object({ name: z.literal('krum'), byzantine: z.number().int().min(0), keep: z.number().int().min(1).optional(), ...samplingFields }).strict(), (c) => new Krum(c)),
  strategyEntry(z.object({ name: z.literal('scaffold'), serverLr: z.number().positive().optional(), ...samplingFields }).strict(), (c) => new Scaffold(c)),
  strategyEntry(z.object({ name: z.literal('fednova'), ...samplingFields }).strict(), (c) => new FedNova(c)),
  strategyEntry(z.object({ name: z.literal('feddyn'), alpha: z.number().positive(), ...samplingFields }).strict(), (c) => new FedDyn(c)),
];

const schemas = STRATEGY_ENTRIES.map((e) => e.schema) as unknown as [z.ZodObject<any>, z.ZodObject<any>, ...z.ZodObject<any>[]];
export const StrategyConfigSchema = z.discriminatedUnion('name', schemas);
/** `{ name, …params }` of a registered strategy (its own schema checks the params). */
export type StrategyConfig = { name: string; fraction?: number; minClients?: number; [param: string]: unknown };
export const STRATEGY_NAMES: string[] = STRATEGY_ENTRIES.map((e) => (e.schema.shape.name as z.ZodLiteral<string>).value);

export function createStrategy(config: StrategyConfig): Strategy<any> {
  const parsed = StrategyConfigSchema.safeParse(config);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new FlConfigError(
      `strategy ${JSON.stringify(config)}: ${issue.path.join('.') || '(root)'}: ${issue.message}. Known strategies: ${STRATEGY_NAMES.join(', ')}`,
      { field: 'strategy' },
    );
  }
  const entry = STRATEGY_ENTRIES.find((e) => (e.schema.shape.name as z.ZodLiteral<string>).value === parsed.data.name)!;
  return entry.create(parsed.data);
}
