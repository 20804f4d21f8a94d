/**
 * The arithmetic of asynchronous FL on hand-computed cases: the staleness functions of
 * Xie et al. 2019 (FedBuff's 1/√(1+τ) among them), one FedBuff server step (Nguyen et al.
 * 2022, Algorithm 1) and one FedAsync mixing step, to the exact number.
 */
import test from 'ava';
import { asyncPlanOf } from '../src/fl/async/async-settings.js';
import { deltaOf, fedAsyncMix, fedBuffStep, parseAsyncSettings, stalenessWeight, FEDBUFF_STALENESS, type BufferedUpdate } from '../src/fl/async/index.js';
import { FlConfigError, FlInvariantError } from '../src/fl/errors.js';

const f32 = (...v: number[]) => Float32Array.from(v);

test("FedBuff's staleness weight 1/√(1+τ): 1, 1/√2, 1/2, 1/3, 1/4 at τ = 0, 1, 3, 8, 15", (t) => {
  t.is(stalenessWeight(FEDBUFF_STALENESS, 0), 1);
  t.is(stalenessWeight(FEDBUFF_STALENESS, 1), 1 / Math.sqrt(2));
  t.is(stalenessWeight(FEDBUFF_STALENESS, 3), 0.5);
  t.is(stalenessWeight(FEDBUFF_STALENESS, 8), 1 / 3);
  t.is(stalenessWeight(FEDBUFF_STALENESS, 15), 0.25);
});

test("FedAsync's staleness functions: constant 1; polynomial (1+τ)^-a; hinge 1 up to b, then 1/(a(τ−b)+1)", (t) => {
  t.is(stalenessWeight({ kind: 'constant' }, 7), 1);
  t.is(stalenessWeight({ kind: 'polynomial', a: 1 }, 3), 0.25);
  t.is(stalenessWeight({ kind: 'polynomial', a: 2 }, 1), 0.25);
  t.is(stalenessWeight({ kind: 'hinge', a: 0.5, b: 2 }, 2), 1);
  t.is(stalenessWeight({ kind: 'hinge', a: 0.5, b: 2 }, 4), 0.5); // 1 / (0.5·2 + 1)
  t.is(stalenessWeight({ kind: 'hinge', a: 3, b: 0 }, 1), 0.25); // 1 / (3·1 + 1)
  t.throws(() => stalenessWeight(FEDBUFF_STALENESS, -1), { instanceOf: FlInvariantError, message: /an integer ≥ 0\), got -1 \(a bug/ });
});

test('one FedBuff step by hand: x + η_g·(1/K)·Σ s(τ_i)(y_i − x_{v_i}), divided by K (not by Σ s)', (t) => {
  // Global model x = [1, 2]. A trained from x itself (τ = 0, s = 1) to [2, 2]: Δ_A = [1, 0].
  // B trained from an older model [0, 0] (τ = 3, s = 1/2) to [4, -2]: Δ_B = [4, -2].
  // Σ s·Δ = [1 + 2, 0 − 1] = [3, −1]; /K=2 → [1.5, −0.5]; ·η_g = 0.5 → [0.75, −0.25]; x → [1.75, 1.75].
  const x = [f32(1, 2)];
  const entry = (client: string, staleness: number, trained: Float32Array, from: Float32Array): BufferedUpdate => ({
    client,
    dispatch: 1,
    staleness,
    weight: stalenessWeight(FEDBUFF_STALENESS, staleness),
    delta: deltaOf([trained], [from]),
    numSamples: 10,
    loss: 0,
  });
  const buffer = [entry('a', 0, f32(2, 2), f32(1, 2)), entry('b', 3, f32(4, -2), f32(0, 0))];
  t.deepEqual(buffer.map((e) => e.weight), [1, 0.5]);
  t.deepEqual(Array.from(fedBuffStep(x, buffer, 0.5)[0]), [1.75, 1.75]);
  // η_g = 1 and one fresh update: the step lands on the client's model.
  t.deepEqual(Array.from(fedBuffStep(x, [buffer[0]], 1)[0]), [2, 2]);
  t.throws(() => fedBuffStep(x, [], 1), { message: /empty buffer/ });
});

test('one FedAsync step by hand: x ← (1 − α_t)x + α_t·x_new with α_t = α·s(τ)', (t) => {
  // α = 0.5, τ = 3 under the polynomial a = 0.5: s = 1/2, α_t = 0.25.
  // 0.75·[1, 3] + 0.25·[3, −1] = [1.5, 2].
  const alpha = 0.5 * stalenessWeight({ kind: 'polynomial', a: 0.5 }, 3);
  t.is(alpha, 0.25);
  t.deepEqual(Array.from(fedAsyncMix([f32(1, 3)], [f32(3, -1)], alpha)[0]), [1.5, 2]);
  t.throws(() => fedAsyncMix([f32(1)], [f32(1)], 1.5), { message: /\[0, 1\], got 1.5/ });
});

test('async settings: a run without a bound, a FedBuff field under FedAsync, a zero buffer are refused naming the field', (t) => {
  const noBound = t.throws(() => parseAsyncSettings({ algorithm: 'fedbuff', concurrency: 2, bufferSize: 2 }), { instanceOf: FlConfigError });
  t.regex(noBound!.message, /async\.maxServerUpdates: an async run needs a bound/);
  const mixed = t.throws(() => parseAsyncSettings({ algorithm: 'fedasync', concurrency: 2, mixing: 0.5, bufferSize: 3, maxServerUpdates: 5 }), { instanceOf: FlConfigError });
  t.regex(mixed!.message, /bufferSize/);
  t.throws(() => parseAsyncSettings({ algorithm: 'fedbuff', concurrency: 2, bufferSize: 0, maxServerUpdates: 5 }), { message: /async\.bufferSize/ });
  t.throws(() => parseAsyncSettings({ algorithm: 'fedsgd', concurrency: 2, maxServerUpdates: 5 }), { message: /async\.algorithm/ });
  const settings = parseAsyncSettings({ algorithm: 'fedbuff', concurrency: 2, bufferSize: 2, maxClientUpdates: 9 });
  t.deepEqual(settings, { algorithm: 'fedbuff', concurrency: 2, bufferSize: 2, serverLr: 1, maxClientUpdates: 9 });
  // Defaults: timeout = the round deadline, retries at a quarter of it, a stall after 10 timeouts (a virtual day with devices, which may sleep for hours).
  const plan = asyncPlanOf(settings, { roundDeadlineMs: 1000 });
  t.like(plan, { dispatchTimeoutMs: 1000, retryMs: 250, stallTimeoutMs: 10_000, maxServerUpdates: Infinity, staleness: FEDBUFF_STALENESS });
  t.is(asyncPlanOf(settings, { roundDeadlineMs: 1000 }, true).stallTimeoutMs, 86_400_000);
});
