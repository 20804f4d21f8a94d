/**
 * Strategies as data: a `StrategyConfig` names an algorithm and its parameters, so
 * scenario files and messages can carry it; `createStrategy` makes the (stateful)
 * strategy object for one run.
 */
import { z } from 'zod';
import { FedAvg, FedProx } from './fedavg.js';
import { FedAvgM } from './fedavgm.js';
import { FedOpt } from './fedopt.js';
import { Krum } from './krum.js';
import { FedMedian, FedTrimmedAvg } from './robust.js';
import type { Strategy } from './strategy.js';

const sampling = {
  fraction: z.number().gt(0).max(1).optional(),
  minClients: z.number().int().min(1).optional(),
};
const adaptive = { ...sampling, eta: z.number().positive().optional(), beta1: z.number().min(0).lt(1).optional(), beta2: z.number().min(0).lt(1).optional(), tau: z.number().positive().optional() };

export const StrategyConfigSchema = z.discriminatedUnion('name', [
  z.object({ name: z.literal('fedavg'), ...sampling }),
  z.object({ name: z.literal('fedprox'), mu: z.number().min(0), ...sampling }),
  z.object({ name: z.literal('fedavgm'), serverLr: z.number().positive().optional(), momentum: z.number().min(0).lt(1).optional(), ...sampling }),
  z.object({ name: z.literal('fedadagrad'), ...adaptive }),
  z.object({ name: z.literal('fedadam'), ...adaptive }),
  z.object({ name: z.literal('fedyogi'), ...adaptive }),
  z.object({ name: z.literal('fedmedian'), ...sampling }),
  z.object({ name: z.literal('fedtrimmedavg'), beta: z.number().min(0).lt(0.5).optional(), ...sampling }),
  z.object({ name: z.literal('krum'), byzantine: z.number().int().min(0), keep: z.number().int().min(1).optional(), ...sampling }),
]);
export type StrategyConfig = z.infer<typeof StrategyConfigSchema>;
export const STRATEGY_NAMES = StrategyConfigSchema.options.map((o) => o.shape.name.value);

export function createStrategy(config: StrategyConfig): Strategy {
  const parsed = StrategyConfigSchema.safeParse(config);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new TypeError(
      `strategy ${JSON.stringify(config)}: ${issue.path.join('.') || '(root)'}: ${issue.message}. Known strategies: ${STRATEGY_NAMES.join(', ')}`,
    );
  }
  const c = parsed.data;
  switch (c.name) {
    case 'fedavg':
      return new FedAvg(c);
    case 'fedprox':
      return new FedProx(c);
    case 'fedavgm':
      return new FedAvgM(c);
    case 'fedadagrad':
      return new FedOpt('adagrad', c);
    case 'fedadam':
      return new FedOpt('adam', c);
    case 'fedyogi':
      return new FedOpt('yogi', c);
    case 'fedmedian':
      return new FedMedian(c);
    case 'fedtrimmedavg':
      return new FedTrimmedAvg(c);
    case 'krum':
      return new Krum(c);
  }
}
