/**
 * Does a fault plan name actors the run has? A crash of `servr`, a partition that
 * puts `clinet-1` in a group, a link rule `to: clinet-*` would otherwise do nothing
 * at all (or fail mid-run), and the user would believe the run was tested under
 * faults it never saw. When a scenario knows its actors before the run (an
 * experiment file does), every actor named in its plan is checked against them.
 */
import { FedsimError } from '../runtime/errors.js';
import { type FaultPlan, type FaultPlanInput, parseFaultPlan, planFieldPath } from '../runtime/faults/fault-plan.js';

/** A fault-plan field naming something the run does not have. */
export interface PlanProblem {
  /** Path inside the plan, e.g. ['crashes', 0, 'actor']. */
  path: (string | number)[];
  /** What was expected, in words. */
  expected: string;
  /** The value found there. */
  found: string;
}

function globMatches(pattern: string, id: string): boolean {
  const escaped = pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`).test(id);
}

/** The actors, listed briefly (a hundred clients take one entry). */
export function listActors(actors: readonly string[]): string {
  if (actors.length <= 8) return actors.join(', ');
  return `${actors.slice(0, 4).join(', ')}, …, ${actors.slice(-2).join(', ')} (${actors.length} actors)`;
}

/** The id scenario code acts as in every scenario's simulation (the runtime's default driver id). */
const DRIVER_ID = 'me';

/**
 * Every place in `plan` that names an actor that is neither among `actors` nor the
 * driver `me` (link globs must match at least one of them).
 */
export function faultPlanProblems(input: FaultPlanInput | FaultPlan, runActors: readonly string[]): PlanProblem[] {
  const plan = parseFaultPlan(input);
  const actors = runActors.includes(DRIVER_ID) ? runActors : [DRIVER_ID, ...runActors];
  const known = new Set(actors);
  const expected = `one of this run's actors (${listActors(actors)})`;
  const problems: PlanProblem[] = [];
  // The driver sends and receives messages (partitions, links and scripted faults may name it: a partition can cut
  // the scenario code off from the server) but is not a spawned actor: it cannot crash.
  const spawned = actors.filter((id) => id !== DRIVER_ID);
  const crashable = `one of this run's actors (${listActors(spawned)})`;
  plan.crashes.forEach((crash, i) => {
    if (crash.actor === DRIVER_ID) {
      problems.push({ path: ['crashes', i, 'actor'], expected: `${crashable}; '${DRIVER_ID}' is the scenario code driving the run, not an actor, so it cannot crash`, found: crash.actor });
    } else if (!known.has(crash.actor)) problems.push({ path: ['crashes', i, 'actor'], expected: crashable, found: crash.actor });
  });
  plan.partitions.forEach((partition, i) =>
    partition.groups.forEach((group, g) =>
      group.forEach((id, k) => {
        if (!known.has(id)) problems.push({ path: ['partitions', i, 'groups', g, k], expected, found: id });
      }),
    ),
  );
  plan.links.forEach((link, i) => {
    for (const end of ['from', 'to'] as const) {
      if (!actors.some((id) => globMatches(link[end], id))) {
        problems.push({ path: ['links', i, end], expected: `a pattern matching at least one of this run's actors (${listActors(actors)})`, found: link[end] });
      }
    }
  });
  plan.script.forEach((fault, i) => {
    // Message ids are `sender:n`: the sender must be an actor of the run.
    const sender = fault.msg.slice(0, fault.msg.lastIndexOf(':'));
    if (!known.has(sender)) problems.push({ path: ['script', i, 'msg'], expected: `a message id 'sender:n' whose sender is ${expected}`, found: fault.msg });
  });
  return problems;
}

/** `at crashes[0].actor` (the runtime's fault-plan path format, one for every fault-plan message). */
export const planPath = planFieldPath;

/** A fault plan names actors the run does not have (thrown before the run). */
export class FaultPlanActorsError extends FedsimError {
  override name = 'FaultPlanActorsError';
  constructor(message: string, readonly problems: PlanProblem[]) {
    super(message);
  }
}
