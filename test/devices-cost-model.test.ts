/**
 * The cost model of a fit on a device (docs/devices.md): latency + bytesDown/download +
 * samples/speed + latency + bytesUp/upload, in virtual ms — on hand-computed cases.
 */
import test from 'ava';
import { fitDurationMs, trainingMs, transferMs } from '../src/fl/devices/fit-duration.js';
import type { DeviceProfile } from '../src/fl/devices/population.js';
import { FlConfigError } from '../src/fl/errors.js';

const phone: DeviceProfile = { samplesPerSecond: 50, uploadBytesPerSecond: 125_000, downloadBytesPerSecond: 1_000_000, latencyMs: 40 };

test('a phone: 40 ms + 2 MB down at 1 MB/s + 600 samples at 50/s + 40 ms + 250 kB up at 125 kB/s = 16,080 ms', (t) => {
  // 40 + 2000 + 12000 + 40 + 2000
  t.is(fitDurationMs(phone, { bytesDown: 2_000_000, samplesSeen: 600, bytesUp: 250_000 }), 16_080);
  t.is(transferMs(phone, 2_000_000, phone.downloadBytesPerSecond), 2_040);
  t.is(trainingMs(phone, 600), 12_000);
});

test('upload and download use their own bandwidths: swapping the byte counts changes the time', (t) => {
  // 40 + 250 + 12000 + 40 + 16000 = 28,330
  t.is(fitDurationMs(phone, { bytesDown: 250_000, samplesSeen: 600, bytesUp: 2_000_000 }), 28_330);
});

test('a field not modelled costs nothing: infinite bandwidth and zero latency leave the training time alone', (t) => {
  const computeOnly: DeviceProfile = { samplesPerSecond: 100, uploadBytesPerSecond: Infinity, downloadBytesPerSecond: Infinity, latencyMs: 0 };
  t.is(fitDurationMs(computeOnly, { bytesDown: 1e6, samplesSeen: 250, bytesUp: 1e6 }), 2_500);
  t.is(fitDurationMs({ ...phone, samplesPerSecond: Infinity }, { bytesDown: 0, samplesSeen: 10_000, bytesUp: 0 }), 80, 'no work but the two latencies');
});

test('no work at all still pays the two one-way latencies', (t) => {
  t.is(fitDurationMs({ ...phone, latencyMs: 25 }, { bytesDown: 0, samplesSeen: 0, bytesUp: 0 }), 50);
});

test('negative or NaN work is refused (it would move virtual time backwards)', (t) => {
  for (const work of [
    { bytesDown: -1, samplesSeen: 1, bytesUp: 1 },
    { bytesDown: 1, samplesSeen: NaN, bytesUp: 1 },
    { bytesDown: 1, samplesSeen: 1, bytesUp: Infinity },
  ]) {
    const error = t.throws(() => fitDurationMs(phone, work), { instanceOf: FlConfigError });
    t.regex(error.message, /must be a finite number ≥ 0/);
  }
});
