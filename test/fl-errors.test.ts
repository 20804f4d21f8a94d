/**
 * The FL layer's errors: a caller can tell refusal, fault and bug apart (issue #13).
 *
 * 1. A source scan of src/fl: no generic Error / TypeError / RangeError is thrown or built
 *    there, no error class derives from them directly, and every error class src/fl
 *    constructs is an FlError (or FederatedRunError, which carries a kind in its reason).
 * 2. Real failure paths end to end, each with its class, its kind (errorKindOf) and a
 *    structured `where`: bad settings and a model that does not fit the data are refused
 *    before any actor is spawned; malformed messages get error replies whose payload says
 *    'refusal'; a crashed server ends the run with a 'fault'; a client algorithm that breaks
 *    its contract shows up as a 'bug' in the round's failures.
 */
import test, { type ExecutionContext } from 'ava';
import { readFileSync, readdirSync, statSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { initBackend } from '../src/runtime/backend.js';
import { RemoteError, SimulationCore } from '../src/runtime/index.js';
import { parseFaultPlan } from '../src/runtime/faults/fault-plan.js';
import * as fl from '../src/fl/index.js';
import * as secagg from '../src/fl/secure/secagg/index.js';
import * as crypto from '../src/fl/secure/crypto/index.js';
import * as unmask from '../src/fl/secure/secagg/unmask.js';
import * as idx from '../src/fl/data/idx.js';
import {
  DataFormatError,
  FederatedRunError,
  FlConfigError,
  FlError,
  type FlErrorKind,
  FlFault,
  FlInvariantError,
  IncompatibleModelError,
  MalformedMessageError,
  errorKindOf,
} from '../src/fl/errors.js';
import { type ClientAlgorithm, plainLocalTraining } from '../src/fl/algorithms/client-algorithm.js';
import { FedAvg, FedAvgM, FedOpt, FedProx, FedTrimmedAvg, Krum } from '../src/fl/strategies/index.js';
import { Scaffold } from '../src/fl/algorithms/scaffold.js';
import { FedDyn } from '../src/fl/algorithms/feddyn.js';
import { FL, runFederated } from '../src/fl/rounds/index.js';
import { nn } from '../src/fl/models/index.js';
import { CLASSES, FEATURES, runWorld, tinyClients, tinyOptions } from './helpers/fl-world.js';

test.before(async () => {
  await initBackend('cpu');
});

// ── 1. the source scan ───────────────────────────────────────────────────────────────

const FL_ROOT = new URL('../src/fl/', import.meta.url).pathname;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** `file:line: text` for every line of src/fl matching `pattern`. */
function matches(pattern: RegExp): string[] {
  const hits: string[] = [];
  for (const file of sourceFiles(FL_ROOT)) {
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (pattern.test(line)) hits.push(`src/fl/${relative(FL_ROOT, file)}:${i + 1}: ${line.trim()}`);
      });
  }
  return hits;
}

const BUILT_IN = '(?:Error|TypeError|RangeError|SyntaxError|ReferenceError|EvalError|URIError|AggregateError)';

test('src/fl throws no generic Error, TypeError or RangeError (nor builds one to send)', (t) => {
  t.true(sourceFiles(FL_ROOT).length > 50, 'the scan sees the FL sources');
  // `throw Error(…)` without `new` too, and errors built for replyError or reject.
  t.deepEqual(matches(new RegExp(`\\bthrow\\s+(?:new\\s+)?${BUILT_IN}\\s*\\(`)), []);
  t.deepEqual(matches(new RegExp(`\\bnew\\s+${BUILT_IN}\\s*\\(`)), []);
  t.deepEqual(matches(new RegExp(`\\bclass\\s+\\w+\\s+extends\\s+${BUILT_IN}\\b`)), []);
});

test('every error class src/fl constructs is an FlError (or a FederatedRunError, whose reason has the kind)', (t) => {
  const exported = new Map<string, unknown>();
  for (const module of [fl, secagg, crypto, unmask, idx]) for (const [name, value] of Object.entries(module)) exported.set(name, value);
  const constructed = new Set(
    matches(/\bnew\s+\w*(?:Error|Refusal|Fault)\s*\(/).flatMap((hit) => [...hit.matchAll(/\bnew\s+(\w*(?:Error|Refusal|Fault))\s*\(/g)].map((m) => m[1])),
  );
  t.true(constructed.size >= 10, [...constructed].join(', '));
  const untyped = [...constructed].filter((name) => {
    const cls = exported.get(name) as (abstract new (...args: never[]) => unknown) | undefined;
    if (cls === FederatedRunError) return false;
    return typeof cls !== 'function' || !(cls.prototype instanceof FlError);
  });
  t.deepEqual(untyped, [], 'not exported from fl, or not an FlError');
});

// ── 2. real failure paths ────────────────────────────────────────────────────────────

/** The error is an instance of `cls`, declares `kind`, and its `where` names at least `keys`. */
function typed(t: ExecutionContext, error: unknown, cls: abstract new (...args: never[]) => Error, kind: FlErrorKind, keys: string[]) {
  t.true(error instanceof cls, `${(error as Error)?.name}: ${(error as Error)?.message}`);
  t.is(errorKindOf(error), kind);
  const where = (error as FlError).where;
  for (const key of keys) t.not(where?.[key], undefined, `where.${key} in ${JSON.stringify(where)}`);
}

const clients = tinyClients();

test('bad strategy settings are refused with the field named, before any actor exists', (t) => {
  const sim = new SimulationCore({ seed: 1 });
  const error = t.throws(() => runFederated(sim, { ...tinyOptions('plain', clients), strategy: { name: 'fedavgm', momentum: 1.5 } }));
  typed(t, error, FlConfigError, 'refusal', ['field']);
  t.regex(error.message, /momentum/);
  t.false(sim.hasActor('server'), 'nothing was spawned');

  // The same for each strategy's own checks, when the object is built directly.
  const cases: [string, () => unknown, string][] = [
    ['fedavgm momentum', () => new FedAvgM({ momentum: 1 }), 'momentum'],
    ['fedavgm serverLr', () => new FedAvgM({ serverLr: 0 }), 'serverLr'],
    ['fedprox mu', () => new FedProx({ mu: -1 }), 'mu'],
    ['fedadam eta', () => new FedOpt('adam', { eta: 0 }), 'eta'],
    ['fedyogi beta2', () => new FedOpt('yogi', { beta2: 1 }), 'beta2'],
    ['fedtrimmedavg beta', () => new FedTrimmedAvg({ beta: 0.5 }), 'beta'],
    ['krum byzantine', () => new Krum({ byzantine: -1 }), 'byzantine'],
    ['krum keep', () => new Krum({ byzantine: 1, keep: 0 }), 'keep'],
    ['scaffold serverLr', () => new Scaffold({ serverLr: Number.NaN }), 'serverLr'],
    ['feddyn alpha', () => new FedDyn({ alpha: 0 }), 'alpha'],
    ['sampling fraction', () => new FedAvg({ fraction: 0 }), 'fraction'],
    ['sampling minClients', () => new FedAvg({ minClients: 1.5 }), 'minClients'],
  ];
  for (const [what, build, field] of cases) {
    const refused = t.throws(build, { instanceOf: FlConfigError }, what);
    t.is(refused.where.field, field, what);
    t.is(errorKindOf(refused), 'refusal', what);
    t.regex(refused.message, new RegExp(field), what);
  }
});

test('bad aggregator settings and bad model specs are refusals naming the field', (t) => {
  const sim = new SimulationCore({ seed: 1 });
  const secagg = t.throws(() => runFederated(sim, { ...tinyOptions('secagg+', clients), secagg: { numShares: -3 } } as never));
  typed(t, secagg, FlConfigError, 'refusal', ['field']);
  const direct = t.throws(() => fl.createAggregator('additive', { serverId: 's', clients: ['a', 'b', 'c'], layout: [new Float32Array(2)], reports: plainLocalTraining.reports, maxSamplesPerClient: 1 }, { additive: { base: 'ten' } }));
  typed(t, direct, FlConfigError, 'refusal', ['field']);
  t.regex(direct.message, /aggregation 'additive': setting base/);
  for (const build of [() => nn.linear(0, 1), () => nn.logistic(4, 1), () => nn.mlp([3]), () => nn.cnn({ classes: 1 })]) {
    typed(t, t.throws(build), FlConfigError, 'refusal', ['op', 'field']);
  }
  t.false(sim.hasActor('server'));
});

test('a model that does not fit a client\'s data is an IncompatibleModelError naming the client, before any actor exists', (t) => {
  const wider = new SimulationCore({ seed: 1 });
  // FEATURES + 1 inputs: each client's 21 samples × 4 features = 84 values are not whole samples of width 5.
  const inputs = t.throws(() => runFederated(wider, { ...tinyOptions('plain', clients), model: nn.logistic(FEATURES + 1, CLASSES) }));
  typed(t, inputs, IncompatibleModelError, 'refusal', ['actor', 'op']);
  t.regex(inputs.message, /client-0.*does not fit this client's data/);
  t.false(wider.hasActor('server'));

  const labels = new SimulationCore({ seed: 1 });
  const outOfRange = clients.map((c, i) => (i === 2 ? { x: c.x, y: Int32Array.from(c.y, (y, j) => (j === 3 ? CLASSES + 4 : y)) } : c));
  const classes = t.throws(() => runFederated(labels, { ...tinyOptions('plain', outOfRange) }));
  typed(t, classes, IncompatibleModelError, 'refusal', ['actor']);
  t.is((classes as FlError).where.actor, 'client-2');
  t.regex(classes.message, /label 6 of sample 3 is outside 0\.\.1/);
});

test('malformed messages over the wire get error replies whose payload says refusal; the actors keep working', async (t) => {
  const sim = new SimulationCore({ seed: 2 });
  const result = await runFederated(sim, { ...tinyOptions('plain', clients), rounds: 1 });
  const malformedUpdates = [
    { round: 1, weights: 'nope', numSamples: 1, loss: 0 },
    { round: -1, weights: result.weights, numSamples: 1, loss: 0 },
    { round: 1, weights: result.weights, loss: 0 },
    { round: 1, weights: result.weights, numSamples: 'many', loss: 0 },
    null,
  ];
  for (const payload of malformedUpdates) {
    const error = await t.throwsAsync(sim.request('server', FL.fitResult, payload), { instanceOf: RemoteError });
    const reply = error as RemoteError;
    t.is(reply.remoteName, 'MalformedMessageError', JSON.stringify(payload));
    // What crossed the wire: the error reply's payload, as the server sent it.
    t.is(errorKindOf({ name: reply.remoteName, message: reply.remoteMessage, where: reply.where, data: reply.data }), 'refusal');
    t.is(errorKindOf(reply), 'refusal');
    t.regex(reply.remoteMessage, /malformed 'fl\/fit-result' from 'me'/);
    t.is(reply.where.from, 'me');
  }
  const badFit = await t.throwsAsync(sim.request('client-0', FL.fit, { round: 'one', weights: [] }), { instanceOf: RemoteError });
  t.is(errorKindOf(badFit), 'refusal');
  // Still answering: a well-formed late update is told why it was not counted.
  const late = await sim.request<{ reason: string }>('server', FL.fitResult, { round: 1, weights: result.weights, numSamples: 1, loss: 0 });
  t.is(late.reason, 'not-collecting');
});

test('a crashed server ends the run with a FederatedRunError whose reason is a fault', async (t) => {
  const run = await runWorld(tinyOptions('plain', clients), 3, { crashes: [{ actor: 'server', afterMessages: 8 }] });
  t.true(run.error instanceof FederatedRunError, String(run.error));
  const error = run.error as FederatedRunError;
  t.is(error.reason.kind, 'fault');
  t.is(errorKindOf(error), 'fault');
  t.regex(error.message, /\[server\] crashed and never restarted/);
});

test('a strategy hook that throws while a round commits or skips ends the run, failed and saying where, instead of retrying for ever', async (t) => {
  // Each throws the same again at every retry of the round: before, the server never left the round.
  class SkipHookThrows extends FedAvg {
    override readonly name = 'skip-hook-throws';
    override aggregate(): never {
      throw new fl.FlRefusal('this round cannot be aggregated');
    }
    afterSkip(): never {
      throw new fl.FlConfigError('the ledger cannot account this round; use another accountant', { field: 'dp.accountant' });
    }
  }
  class EvaluateThrows extends FedAvg {
    override readonly name = 'evaluate-throws';
    override readonly evaluate = (): never => {
      throw new fl.FlInvariantError('evaluate broke');
    };
  }
  for (const [strategy, kind, pattern] of [
    [new SkipHookThrows({ fraction: 1 }), 'refusal', /round 1 could not be committed or skipped: the ledger cannot account this round/],
    [new EvaluateThrows({ fraction: 1 }), 'bug', /round 1 could not be committed or skipped: evaluate broke/],
  ] as const) {
    const run = await runWorld({ ...tinyOptions('plain', clients), rounds: 3, strategy }, 5);
    t.true(run.error instanceof FederatedRunError, `${strategy.name}: ${String(run.error)}`);
    const error = run.error as FederatedRunError;
    t.is(error.reason.kind, kind, strategy.name);
    t.is(error.reason.round, 1);
    t.regex(error.message, pattern);
    // The run ended at once: no endless round of retries in the log.
    t.true(run.sim.log.events.length < 500, `${strategy.name}: ${run.sim.log.events.length} events`);
  }
});

test('a client algorithm that breaks its contract is a bug in the round\'s failures, not a refusal or a fault', async (t) => {
  // Declares an extra it never reports: the client's local update fails its own check.
  const lying: ClientAlgorithm<undefined> = { ...plainLocalTraining, name: 'lying', reports: { extras: ['ghost'], metrics: [] } };
  class LyingFedAvg extends FedAvg {
    override readonly name = 'lying-fedavg';
    override readonly client = lying;
  }
  const run = await runWorld({ ...tinyOptions('plain', clients), rounds: 2, strategy: new LyingFedAvg({ fraction: 1 }) }, 4);
  t.is(run.error, undefined, String(run.error));
  for (const round of run.result!.rounds) {
    t.truthy(round.skipped, `round ${round.round} committed nothing`);
    t.is(round.failures.length, clients.length);
    for (const failure of round.failures) {
      t.is(failure.kind, 'bug', failure.reason);
      t.regex(failure.reason, /^FlInvariantError: client 'client-\d' \(round \d\): algorithm 'lying' reported/);
    }
  }
});

test('data files: unreadable is a fault, corrupt is a refusal (DataFormatError naming the file)', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'fl-errors-'));
  typed(t, t.throws(() => idx.loadMnistLike(join(dir, 'absent'), { split: 'train' })), FlFault, 'fault', ['file']);
  writeFileSync(join(dir, 'train-images-idx3-ubyte'), Uint8Array.of(0x1f, 0x8b, 1, 2, 3));
  writeFileSync(join(dir, 'train-labels-idx1-ubyte'), Uint8Array.of(0, 0, 8, 1, 0, 0, 0, 0));
  const corrupt = t.throws(() => idx.loadMnistLike(dir, { split: 'train' }));
  typed(t, corrupt, DataFormatError, 'refusal', ['file']);
  t.is((corrupt as FlError).where.file, join(dir, 'train-images-idx3-ubyte'));
});

test('the three kinds are apart: each class has one kind, and errors from outside fl count as bugs', (t) => {
  t.is(errorKindOf(new FlConfigError('x')), 'refusal');
  t.is(errorKindOf(new MalformedMessageError('x')), 'refusal');
  t.is(errorKindOf(new FlFault('x')), 'fault');
  t.is(errorKindOf(new FlInvariantError('x')), 'bug');
  t.regex(new FlInvariantError('x').message, /a bug: in fedsim/);
  t.is(errorKindOf(new secagg.SecAggAbortedError('too few', { round: 1, stage: 'unmask', survivors: [], threshold: 2, participants: 3, failures: [] })), 'fault');
  t.is(errorKindOf(new secagg.SecAggConfigError('x')), 'refusal');
  t.is(errorKindOf(new crypto.DecryptionError('x')), 'refusal');
  // Not declared: a plain error (from a dependency, or a bug) and a payload without a kind.
  t.is(errorKindOf(new RangeError('x')), 'bug');
  t.is(errorKindOf({ name: 'Error', message: 'x' }), 'bug');
  // A kind survives serialisation as an error payload.
  const payload = JSON.parse(JSON.stringify({ name: 'FlFault', message: 'x', data: new FlFault('x').data }));
  t.is(errorKindOf(payload), 'fault');
});

test('a fault plan the run cannot use is a refusal of the user\'s input, not a bug (the CLI hints --debug only for bugs)', (t) => {
  const error = t.throws(() => parseFaultPlan({ drop: 2 }, 'the test plan'));
  t.is(error!.name, 'FaultPlanError');
  t.is(errorKindOf(error), 'refusal');
  t.is(errorKindOf(new TypeError('x is undefined')), 'bug', 'a JS error stays a bug');
});
