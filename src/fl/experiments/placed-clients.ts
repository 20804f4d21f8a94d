/**
 * FL clients hosted by `fedsim worker` processes in a live run (placement kind `fl-client`).
 *
 * A client actor's input holds functions, a model workspace and its data, so it cannot
 * cross the wire. As a Flower SuperNode runs its own copy of the ClientApp on its own data,
 * a worker hosting clients loads the same experiment file itself (`fedsim worker
 * --experiment FILE`); the driver's placement carries only what proves that both sides
 * build the same client — the digests of fedsim's code, of the experiment file's bytes and
 * of its settings after --set, the tfjs backend — and the client's id. The seed travels in
 * the placement's frame. The worker then prepares the run in its own part of it (its
 * SimulationCore, same seed, same named rng streams: the same data partition, the same
 * model) and creates the actor the driver would have spawned. Anything that differs is
 * refused, naming what differs and what to do.
 */
import { z } from 'zod';
import { backendName } from '../../runtime/backend-name.js';
import { digestOf } from '../../runtime/canonical.js';
import type { SimulationCore } from '../../runtime/simulation.js';
import type { PlacedActorSpec } from '../../runtime/transport/transport.js';
import type { Scenario, ScenarioClientActors } from '../../scenario/index.js';
import { codeSha256 } from '../checkpoint/code-digest.js';
import { ClientPlacementError, FlConfigError } from '../errors.js';

export const FL_CLIENT_KIND = 'fl-client';

const digest = z.string().regex(/^[0-9a-f]{16,64}$/);

const FlClientPlacementSchema = z
  .object({
    /** The experiment file as the driver names it (shown in errors). */
    experiment: z.string().min(1).max(4096),
    /** sha256 of the file's bytes. */
    sha256: digest,
    /** Digest of its settings after --set / --param. */
    settings: digest,
    /** fedsim's code (codeSha256): another version could train differently. */
    code: digest,
    /** The tfjs backend: another one rounds differently, so the weights would differ. */
    backend: z.string().min(1).max(256),
    client: z.string().min(1).max(256),
  })
  .strict();
export type FlClientPlacement = z.infer<typeof FlClientPlacementSchema>;

/** The experiment a placement or a worker is about: its loaded scenario with what proves its identity. */
interface PlaceableExperiment {
  path: string;
  sha256: string;
  settings: string;
  clients: ScenarioClientActors;
}

function placeable(scenario: Scenario<any>, where: string): PlaceableExperiment {
  if (!scenario.clientActors || !scenario.sha256 || !scenario.path || !scenario.settings) {
    throw new FlConfigError(`${where}: '${scenario.name}' is not an FL experiment file (kind: fedavg); only an experiment's clients can be hosted by worker processes`, { field: 'scenario' });
  }
  return { path: scenario.path, sha256: scenario.sha256, settings: digestOf(scenario.settings), clients: scenario.clientActors };
}

/**
 * The driver's side: how to place each client of `scenario` (an experiment file loaded with
 * the run's --set) on a worker (runFederated's `placeClient`). `shownPath` names the file in errors.
 */
export function clientPlacements(scenario: Scenario<any>, shownPath: string): (id: string) => PlacedActorSpec {
  const experiment = placeable(scenario, '--clients-on-workers');
  const common = { experiment: shownPath, sha256: experiment.sha256, settings: experiment.settings, code: codeSha256(), backend: backendName() };
  return (client) => ({ kind: FL_CLIENT_KIND, input: { ...common, client } satisfies FlClientPlacement, workerFlags: `--experiment ${shownPath} --clients ${client}` });
}

export interface HostedClients {
  /** The clients this worker offers (its --clients selection of the experiment's). */
  readonly ids: readonly string[];
  /** Builds the placed client in `core` (this process's part of the driver's run), or refuses it. */
  build(input: unknown, core: SimulationCore): { logic: import('xstate').AnyActorLogic; input: Record<string, unknown> };
}

/**
 * The worker's side: the clients of `scenario` it hosts (`select`: its --clients patterns,
 * every client when absent). The run is prepared once per run (per core), on the first
 * placement, and each client's actor built from it.
 */
export function hostedClients(scenario: Scenario<any>, shownPath: string, select?: readonly string[]): HostedClients {
  const experiment = placeable(scenario, '--experiment');
  const ids = select ? experiment.clients.ids.filter((id) => select.some((pattern) => globMatches(pattern, id))) : [...experiment.clients.ids];
  if (ids.length === 0) {
    const all = experiment.clients.ids;
    throw new FlConfigError(`--clients ${select!.join(',')}: no client of ${shownPath} matches (its clients are ${all[0]} … ${all.at(-1)})`, { field: 'clients' });
  }
  const prepared = new WeakMap<SimulationCore, ReturnType<ScenarioClientActors['prepare']>>();
  const code = codeSha256();
  return {
    ids,
    build(input, core) {
      const parsed = FlClientPlacementSchema.safeParse(input);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new ClientPlacementError(`The placement of an FL client is malformed at ${issue.path.join('.') || 'top level'}: ${issue.message}.`, { field: issue.path.join('.') });
      }
      const placement = parsed.data;
      const refuse = (what: string, fix: string) => new ClientPlacementError(`cannot host FL client '${placement.client}' of ${placement.experiment}: ${what}; ${fix}`, { actor: placement.client });
      if (placement.code !== code) throw refuse(`fedsim's code differs between the driver and this worker (code ${placement.code.slice(0, 12)} there, ${code.slice(0, 12)} here)`, 'run the same fedsim checkout on both sides');
      if (placement.backend !== backendName()) throw refuse(`the driver trains on tfjs backend '${placement.backend}', this worker on '${backendName()}'`, `start the worker with --backend ${placement.backend.split(' ')[0]}`);
      if (placement.sha256 !== experiment.sha256) throw refuse(`this worker's experiment file ${shownPath} differs from the driver's (sha256 ${experiment.sha256.slice(0, 12)} here, ${placement.sha256.slice(0, 12)} there)`, 'give both the same file');
      if (placement.settings !== experiment.settings) throw refuse(`the experiment's settings differ (the driver's --set/--param are not this worker's)`, 'start the worker with the same --set as the run');
      if (!ids.includes(placement.client)) throw refuse(`this worker hosts ${ids.join(', ')}`, 'start a worker whose --clients include it');
      let clients = prepared.get(core);
      if (!clients) {
        clients = experiment.clients.prepare(core);
        prepared.set(core, clients);
      }
      return clients.actor(placement.client);
    },
  };
}

/** A client id against a --clients pattern: the id itself, or `*` standing for any run of characters. */
function globMatches(pattern: string, id: string): boolean {
  const regex = new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return regex.test(id);
}
