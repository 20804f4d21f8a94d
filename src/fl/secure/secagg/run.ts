/**
 * `runSecAggPlus`: one SecAgg+ round from scenario code.
 *
 * Spawns the server and one client actor per entry of `clients`, sends the server
 * `secagg/start`, and awaits its answer — which pumps the simulation through the four stages,
 * including the virtual-time timeouts that turn crashed clients into dropouts.
 */
import { allowsUnsafe, type Envelope, type SimulationCore } from '../../../runtime/index.js';
import { secAggClientMachine } from './client-machine.js';
import type { UpdateSource } from './client-steps.js';
import { SecAggAbortedError, SecAggConfigError } from './errors.js';
import { payloadBytes } from './message-size.js';
import { type SecAggPlusParamsInput, parseSecAggParams, resolveRoundConfig } from './params.js';
import { type AbortedPayload, type ResultPayload, SECAGG, type StageReport } from './protocol.js';
import { secAggServerMachine } from './server-machine.js';

export interface RunSecAggPlusOptions {
  /** Client id → its update. Ids become actor ids. */
  clients: Map<string, UpdateSource> | Record<string, UpdateSource>;
  params: SecAggPlusParamsInput;
  /** Round number (default 0). */
  round?: number;
  /** Server actor id (default 'secagg-server'). */
  serverId?: string;
  /** The length every masked vector must have, when the updates are functions (otherwise the vectors' own length). */
  vectorLength?: number;
}

export interface SecAggPlusResult {
  round: number;
  /** Dequantised sum of the survivors' updates. */
  sum: Float32Array;
  /** sum / number of survivors. */
  average: Float32Array;
  /** Exact Σ of the survivors' quantised vectors mod modulusRange. */
  quantizedSum: Uint32Array;
  survivors: string[];
  dropped: string[];
  stages: StageReport[];
  failures: ResultPayload['failures'];
  config: ResultPayload['config'];
  publicKeys: ResultPayload['publicKeys'];
}

type Simulation = Pick<SimulationCore, 'spawn' | 'request' | 'hasActor' | 'policies'>;

export async function runSecAggPlus(sim: Simulation, options: RunSecAggPlusOptions): Promise<SecAggPlusResult> {
  const round = options.round ?? 0;
  const serverId = options.serverId ?? 'secagg-server';
  const entries = options.clients instanceof Map ? [...options.clients] : Object.entries(options.clients);
  const ids = entries.map(([id]) => id).sort();
  // Fail here, with the caller's stack, rather than as an error reply from the server.
  const params = parseSecAggParams(options.params);
  resolveRoundConfig(params, round, ids.length, allowsUnsafe(sim.policies, 'secagg-threshold'));
  const lengths = new Set(entries.map(([, u]) => (typeof u === 'function' ? -1 : u.length)));
  lengths.delete(-1);
  if (lengths.size > 1) throw new SecAggConfigError(`runSecAggPlus: client updates differ in length (${[...lengths].join(', ')}); every client must send a vector of the model's size.`);
  for (const id of [serverId, ...ids]) {
    if (sim.hasActor(id)) throw new SecAggConfigError(`runSecAggPlus: an actor '${id}' already exists; use other client ids or serverId, or a new Simulation.`);
  }

  sim.spawn(secAggServerMachine, serverId, { input: { params } });
  for (const [id, update] of [...entries].sort(([a], [b]) => (a < b ? -1 : 1))) sim.spawn(secAggClientMachine, id, { input: { update } });

  const [length = options.vectorLength] = lengths;
  if (options.vectorLength !== undefined && length !== options.vectorLength) {
    throw new SecAggConfigError(`runSecAggPlus: vectorLength ${options.vectorLength} differs from the updates' length ${length}; leave vectorLength out for vector updates.`);
  }
  const start = { round, participants: ids, ...(length !== undefined ? { vectorLength: length } : {}) };
  const answer = await sim.request<Envelope>(serverId, SECAGG.start, start, { unwrap: (e) => e, bytes: payloadBytes(SECAGG.start, start) });
  if (answer.type === SECAGG.aborted) {
    const aborted = answer.payload as AbortedPayload;
    throw new SecAggAbortedError(aborted.reason, aborted);
  }
  const result = answer.payload as ResultPayload;
  const average = new Float32Array(result.sum.length);
  for (let i = 0; i < average.length; i++) average[i] = result.sum[i] / result.survivors.length;
  return { ...result, average };
}
