/**
 * Random fault plans for the round engine's property tests and the fault sweep
 * (bench/fault-sweep.ts): duplicates, drops, reorders, delays, partitions and crashes, in
 * amounts a protocol is expected to ride out. The server and the mode's helper always come
 * back after a crash (a server that never returns ends any run); clients may crash for
 * good, lose their memory, or lose their disk too.
 */
import fc from 'fast-check';
import type { FaultPlanInput } from '../../src/runtime/index.js';

export interface FaultWorld {
  clients: readonly string[];
  /** Actors that must restart after a crash: the server and the mode's helpers. */
  services: readonly string[];
  /** The round deadline, which scales the delays, partitions and restarts. */
  deadlineMs: number;
  /**
   * False: a crashed client never loses its disk. For algorithms with client state (SCAFFOLD's
   * c_i), whose server state counts what the lost disk held: nothing can restore that (default true).
   */
  clientsMayLoseStorage?: boolean;
}

// In whole percent, so a failing plan reads plainly.
const rate = (max: number) => fc.oneof(fc.constant(0), fc.integer({ min: 1, max: Math.round(max * 100) }).map((p) => p / 100));

export function faultPlanArbitrary(world: FaultWorld): fc.Arbitrary<FaultPlanInput> {
  const { clients, services, deadlineMs, clientsMayLoseStorage = true } = world;
  const clientCrash = fc.record({
    actor: fc.constantFrom(...clients),
    afterMessages: fc.integer({ min: 1, max: 12 }),
    restartAfter: fc.option(fc.integer({ min: 1, max: deadlineMs }), { nil: undefined }),
    loseState: fc.boolean(),
    loseStorage: clientsMayLoseStorage ? fc.boolean() : fc.constant(false),
  });
  const serviceCrash = fc.record({
    actor: fc.constantFrom(...services),
    afterMessages: fc.integer({ min: 1, max: 30 }),
    restartAfter: fc.integer({ min: 1, max: deadlineMs }),
    loseState: fc.boolean(),
  });
  const partition = fc
    .record({ isolated: fc.constantFrom(...clients), from: fc.integer({ min: 0, max: 3 * deadlineMs }), length: fc.integer({ min: 1, max: deadlineMs }) })
    .map(({ isolated, from, length }) => ({ groups: [[isolated], [...clients, ...services].filter((a) => a !== isolated)], from, until: from + length }));
  return fc
    .record({
      drop: rate(0.1),
      duplicate: rate(0.3),
      reorder: rate(0.3),
      delayRate: rate(0.3),
      delayMax: fc.integer({ min: 1, max: Math.floor(deadlineMs / 3) }),
      crashes: fc.array(fc.oneof(clientCrash, serviceCrash), { maxLength: 2 }),
      partitions: fc.array(partition, { maxLength: 1 }),
    })
    .map(({ delayRate, delayMax, crashes, ...rest }) => ({
      ...rest,
      delay: { rate: delayRate, dist: { kind: 'uniform' as const, min: 0, max: delayMax } },
      // One crash entry per actor (the fault plan keeps one schedule per crash; two for one actor would race).
      crashes: crashes.filter((c, i) => crashes.findIndex((d) => d.actor === c.actor) === i),
    }));
}

/** Plans that lose nothing and stop nobody (duplicates and reorders only): a run under one must equal the fault-free run. */
export function harmlessPlanArbitrary(): fc.Arbitrary<FaultPlanInput> {
  return fc.record({ duplicate: rate(0.5), reorder: rate(0.5) });
}
