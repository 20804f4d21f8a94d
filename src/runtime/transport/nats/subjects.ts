/**
 * NATS subjects of a live run. Every actor has one inbox subject,
 * `fedsim.<run>.actor.<id>`: envelopes for it and the controls that must stay in order
 * with them (its placement, roster news) travel there, so NATS's per-publisher order
 * keeps "create bob, then message bob" in that order.
 */
import { FedsimError } from '../../errors.js';

const TOKEN = /^[A-Za-z0-9_-]+$/;

/** A subject token for any id: characters NATS gives meaning to ('.', '*', '>', spaces…) are %-escaped. */
export function subjectToken(id: string): string {
  if (TOKEN.test(id)) return id;
  return Array.from(new TextEncoder().encode(id), (byte) => {
    const c = String.fromCharCode(byte);
    return /[A-Za-z0-9_-]/.test(c) ? c : `%${byte.toString(16).padStart(2, '0')}`;
  }).join('');
}

/** Checks a run name given on the command line (`--run`): it is one subject token. */
export function checkRunName(run: string): string {
  if (!TOKEN.test(run)) throw new FedsimError(`--run ${JSON.stringify(run)}: a run name is letters, digits, '-' and '_' (it becomes part of NATS subjects), e.g. --run lab-1.`);
  return run;
}

export function actorSubject(run: string, id: string): string {
  return `fedsim.${run}.actor.${subjectToken(id)}`;
}
