/**
 * Issue #12, item 5: reading a worker's store directly bypasses every check, so it is a named
 * debugging door — `sim.inspect(worker)` — and nothing else: the worker handle has no
 * `objects` any more, listings go through the worker (`listObjects()`, which shows private
 * objects only as private), and the protocols and tutorial scenarios do not use the door.
 */
import test from 'ava';
import * as tf from '@tensorflow/tfjs';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './helpers/fedsim-cli.js';
import { ready, simulation } from './helpers/pointers.js';

test.before(ready);

test('the worker handle has no raw store: no objects, no formatObjects', (t) => {
  const sim = simulation();
  const bob = sim.worker('bob');
  t.false('objects' in bob, 'bob.objects is gone');
  t.false('formatObjects' in bob);
  t.is(String(bob), '<VirtualWorker id:bob #objects:0>', 'the count is still printed, as PySyft does');
});

test('listObjects() asks the worker: public objects are printed, private ones only listed, values never sent', async (t) => {
  const sim = simulation();
  const bob = sim.worker('bob');
  const x = tf.tensor([1, 2, 3]).send(bob);
  await sim.settle(); // load() acts at once; the send arrives when delivered
  const secret = bob.load(tf.tensor([[4817263, 5]]), { allowedUsers: ['bob'] });
  const listing = await bob.listObjects();
  t.is(String(listing), `{${x.idAtLocation}: tensor([1, 2, 3]), ${secret.idAtLocation}: <private to [bob]: tensor float32 [1,2]>}`);
  t.false(JSON.stringify(listing.entries).includes('4817263'), 'the reply carries nothing of the private value');
  t.is(listing.shown(secret.idAtLocation), '<private to [bob]: tensor float32 [1,2]>');
});

test('sim.inspect(bob) is the debugging door: values, labels and private failures, read without a message', async (t) => {
  const sim = simulation();
  const bob = sim.worker('bob');
  const secret = bob.load(tf.tensor([4817263, 5]), { allowedUsers: ['bob'] });
  secret.reshape([3]);
  await sim.settle();
  const inspector = sim.inspect(bob);
  t.true(inspector.format().startsWith(`{${secret.idAtLocation}: tensor([4817263, 5])`), inspector.format());
  t.deepEqual(inspector.labelOf(secret.idAtLocation)?.allowedUsers, ['bob']);
  t.deepEqual([...inspector.labelOf(secret.idAtLocation)!.contributions!.values()].map((part) => part.contributor), ['bob'], "loaded by bob's owner: bob's contribution");
  t.is(inspector.privateFailures.length, 1, 'the failed reshape, with its cause, for the owner');
  t.throws(() => sim.inspect(sim.me), { message: /the local worker stores nothing/ });
  const marks = sim.log.events.filter((e) => e.ev === 'mark' && e.label === 'load');
  t.is(marks.length, 1, "the owner's load is in the log");
});

/** Files under `dir` (recursively) whose names end with `.ts`. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? sources(path) : entry.name.endsWith('.ts') ? [path] : [];
  });
}

test('protocols, tutorial scenarios and tests of protocols stay off the raw store', (t) => {
  // (`'bob.objects:'` in a printed label is text, not a read; checks of the runtime's own actors may read their state.)
  const door = /\bsim\.inspect\(|\.inspect\(\w+\)|unguardedState\(|\.objects\b(?!:)|formatObjects\(/;
  const files = [
    ...sources(join(ROOT, 'scenarios')),
    ...sources(join(ROOT, 'src', 'fl')),
    ...readdirSync(join(ROOT, 'test')).filter((f) => f.startsWith('fl-') && f.endsWith('.ts')).map((f) => join(ROOT, 'test', f)),
  ];
  t.true(files.length > 20);
  const offending = files.filter((file) => door.test(readFileSync(file, 'utf8')));
  t.deepEqual(offending, [], 'these read a worker store directly');
});
