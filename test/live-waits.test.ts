/**
 * LiveWaits, the live run's answer to "can this wait ever end?", against a scripted core:
 * a quiet run with an awaited reply is a DeadlockError, but only if this process did
 * nothing while the run was being checked. A request sent during the check (the scenario
 * going on after a settle()) was not in the picture the check saw, so it must not be
 * failed: that race made a live pointer run fail under load in CI.
 */
import test from 'ava';
import { DeadlockError, FedsimError } from '../src/runtime/errors.js';
import { LiveWaits, LIVENESS_CHECK_DELAY_MS, type LiveWaitsCore } from '../src/runtime/transport/live-waits.js';

/** A core whose quiesce() is answered by the test, with its own awaited requests and event counter. */
function scriptedCore() {
  const answers: Array<(error?: Error) => void> = [];
  const state = { awaiting: [] as string[], events: 0, failed: [] as Error[] };
  const core: LiveWaitsCore = {
    awaiting: () => state.awaiting,
    idle: true,
    stopped: false,
    quiesce: () => new Promise<void>((resolve, reject) => answers.push((error) => (error ? reject(error) : resolve()))),
    failRequests: (error) => {
      state.failed.push(error);
      state.awaiting = [];
    },
    now: () => 0,
    progress: () => state.events,
  };
  return { core, state, answers };
}

const afterDelay = () => new Promise((resolve) => setTimeout(resolve, LIVENESS_CHECK_DELAY_MS + 20));

test('an awaited reply in a run that stays quiet through the check fails with a DeadlockError', async (t) => {
  const { core, state, answers } = scriptedCore();
  const waits = new LiveWaits(core);
  state.awaiting = ["the reply to 'search' (me:20) from 'bob'"];
  waits.afterRun();
  await afterDelay();
  t.is(answers.length, 1, 'the run was asked whether it is quiet');
  answers[0]();
  await new Promise((resolve) => setImmediate(resolve));
  t.is(state.failed.length, 1);
  t.true(state.failed[0] instanceof DeadlockError);
  t.regex(state.failed[0].message, /^Deadlock at live time 0 ms: waiting for the reply to 'search' \(me:20\) from 'bob'/);
});

test('a request sent while the check ran is not failed by it: the check looks again', async (t) => {
  const { core, state, answers } = scriptedCore();
  const waits = new LiveWaits(core);
  state.awaiting = ["the reply to 'get' (me:19) from 'bob'"];
  waits.afterRun();
  await afterDelay();
  t.is(answers.length, 1);
  // While the run is being checked, the reply to me:19 arrives and the scenario sends me:20.
  state.events += 3;
  state.awaiting = ["the reply to 'search' (me:20) from 'bob'"];
  answers[0]();
  await new Promise((resolve) => setImmediate(resolve));
  t.deepEqual(state.failed, [], 'the stale quiet did not fail the new request');
  // The new request is still awaited: the run is checked again, and its reply comes.
  await afterDelay();
  t.is(answers.length, 2, 'a fresh check started');
  state.events += 2;
  state.awaiting = [];
  answers[1]();
  await new Promise((resolve) => setImmediate(resolve));
  t.deepEqual(state.failed, []);
});

test('a waitUntil condition that holds is resolved, and one left waiting in a quiet run is rejected', async (t) => {
  const { core, answers } = scriptedCore();
  const waits = new LiveWaits(core);
  let ready = false;
  const held = waits.waitUntil(() => ready, 'the round result');
  ready = true;
  waits.afterRun();
  await held;
  const never = waits.waitUntil(() => false, 'the final report');
  await afterDelay();
  answers.at(-1)!();
  const error = await t.throwsAsync(never);
  t.true(error instanceof DeadlockError);
  t.regex(error!.message, /the final report/);
});

test('a host that answers it no longer has the run fails what is awaited with its explanation; a host that does not answer does not', async (t) => {
  const { core, state, answers } = scriptedCore();
  const waits = new LiveWaits(core);
  state.awaiting = ["the reply to 'get' (me:3) from 'bob'"];
  waits.afterRun();
  await afterDelay();
  // No responders (a raw client error): the transport's host check reports a process that is gone, not this.
  answers[0](new Error('503 no responders'));
  await new Promise((resolve) => setImmediate(resolve));
  t.deepEqual(state.failed, []);
  waits.afterRun();
  await afterDelay();
  answers[1](new FedsimError("The host of 'bob' could not answer 'sync': a 'sync' frame of run session s1, which placed no actor here (it ended, or its driver never placed one)"));
  await new Promise((resolve) => setImmediate(resolve));
  t.is(state.failed.length, 1);
  t.regex(state.failed[0].message, /could not answer 'sync'/);
});
