/**
 * A scenario with concurrent senders: three senders each send `perSender` items to one
 * sink at the same virtual time, so only the scheduler decides the interleaving.
 */
import { SimulationCore, type SimulationOptions } from '../../src/runtime/index.js';
import { senderLogic, sinkLogic } from './actors.js';

export const SENDERS = ['s1', 's2', 's3'] as const;

export async function concurrentSenders(sim: SimulationCore, perSender = 4): Promise<Array<{ from: string; i: number }>> {
  sim.spawn(sinkLogic, 'sink');
  for (const id of SENDERS) sim.spawn(senderLogic, id);
  for (const id of SENDERS) sim.send(id, 'go', { to: 'sink', count: perSender });
  await sim.settle();
  return (await sim.request('sink', 'report', {})) as Array<{ from: string; i: number }>;
}

export async function concurrentSendersLog(options: SimulationOptions, perSender = 4) {
  const sim = new SimulationCore(options);
  const received = await concurrentSenders(sim, perSender);
  await sim.settle();
  return { sim, received, jsonl: sim.log.toJSONL(), sha: sim.log.sha256() };
}

// Run as a script: print the log's sha256 for the seed given (used by the cross-process test).
if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const seed = Number(process.argv[2] ?? 1);
  const { sha } = await concurrentSendersLog({ seed, faults: { delay: { rate: 0.3, dist: { kind: 'uniform', min: 0, max: 5 } }, duplicate: 0.1 } });
  process.stdout.write(sha + '\n');
}
