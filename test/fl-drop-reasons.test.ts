/**
 * Why a selected client is not in the aggregate (src/fl/rounds/drop-reasons.ts): every
 * failure gets exactly one kind, so the counts by kind add up to the clients dropped —
 * a client whose fit hit a bug is counted as `bug`, not a second time elsewhere.
 */
import test from 'ava';
import { DROP_REASONS, classifyDrops, countDrops, dropOf } from '../src/fl/rounds/drop-reasons.js';
import type { RoundFailure } from '../src/fl/strategies/strategy.js';

const failure = (clientId: string, kind: RoundFailure['kind']): RoundFailure => ({ clientId, kind, reason: `${kind} of ${clientId}` });

test('each failure has one kind of drop, and the counts add up to the failures', (t) => {
  const failures = [failure('a', 'refusal'), failure('b', 'bug'), failure('c', 'fault'), failure('d', 'fault'), failure('e', 'bug')];
  const offline = new Set(['d', 'e']);
  const dropped = classifyDrops(failures, { targetMet: false, deadlineClosed: true, onlineThroughout: (id) => !offline.has(id) });
  // A refusal and a bug are what they are whatever the trace says; a fault is offline or deadline by the round's end.
  t.deepEqual(dropped.map((d) => [d.clientId, d.drop]), [['a', 'refused'], ['b', 'bug'], ['c', 'deadline'], ['d', 'offline'], ['e', 'bug']]);
  const counts = countDrops(dropped);
  t.deepEqual(counts, { offline: 1, deadline: 1, 'over-selected': 0, refused: 1, fault: 0, bug: 2 });
  t.is(DROP_REASONS.reduce((n, why) => n + counts[why], 0), failures.length);
});

test('a failure no round ending classified (an async dispatch given up) is dropped by its error kind alone', (t) => {
  t.is(dropOf(failure('a', 'refusal')), 'refused');
  t.is(dropOf(failure('a', 'bug')), 'bug');
  t.is(dropOf(failure('a', 'fault')), 'fault');
  t.is(dropOf({ ...failure('a', 'fault'), drop: 'offline' }), 'offline', 'a classified failure keeps its kind');
});
