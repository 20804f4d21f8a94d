/**
 * FedScale's device traces converted (fields as FedScale's client_metadata.py reads them):
 * computation ms/sample of inference × 3 for training, communication kbit/s of 1024/8
 * bytes, active/inactive sessions repeating every finish_time — on hand-computed cases,
 * through the library and `fedsim trace from-fedscale`.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readDeviceTrace } from '../src/fl/devices/device-trace.js';
import { convertFedScale, type FedScaleInput } from '../src/fl/devices/fedscale.js';
import { DeviceTraceError } from '../src/fl/devices/trace-errors.js';
import { fedsim, tempDir } from './helpers/fedsim-cli.js';

const fixture = (name: string): FedScaleInput => {
  const text = readFileSync(join('test/fixtures/fedscale', name), 'utf8');
  return { data: JSON.parse(text), text, file: name };
};
const device = fixture('device.json');
const behaviour = fixture('behaviour.json');
const inline = (data: unknown, file: string): FedScaleInput => {
  const text = JSON.stringify(data, null, 1);
  return { data, text, file };
};

test('speeds: samples/s = 1000 / (3 · computation), bytes/s = communication · 128; entries in numeric key order', (t) => {
  const trace = convertFedScale(device, behaviour, { ids: ['a', 'b', 'c'] });
  // Device keys sorted 1, 2, 432802.
  t.like(trace.clients[0], { id: 'a', samplesPerSecond: 16.6666666667, uploadBytesPerSecond: 128_000, downloadBytesPerSecond: 128_000, latencyMs: 0 });
  t.like(trace.clients[1], { id: 'b', samplesPerSecond: 6.66666666667, uploadBytesPerSecond: 10_240, downloadBytesPerSecond: 10_240 });
  // 1000 / (3 · 162) and 5648.109619499134 · 128, to 12 significant digits.
  t.like(trace.clients[2], { id: 'c', samplesPerSecond: 2.05761316872, uploadBytesPerSecond: 722_958.031296 });
  t.is(convertFedScale(device, behaviour, { ids: ['a'], augmentationFactor: 1 }).clients[0].samplesPerSecond, 50, 'factor 1: inference speed');
});

test('sessions: one period by default; FedScale\'s entry 3834 keeps its 8 sessions, whose lengths sum to its `duration`', (t) => {
  const trace = convertFedScale(device, behaviour, { ids: ['a', 'b', 'c'] });
  // Behaviour keys sorted 7, 3834; the third client wraps around to 7.
  t.deepEqual(trace.clients[0].online, [[0, 80], [220, 300]]);
  const entry = (behaviour.data as Record<string, { active: number[]; inactive: number[]; duration: number }>)['3834'];
  t.deepEqual(trace.clients[1].online, entry.active.map((a, m) => [a, entry.inactive[m]]));
  t.is(trace.clients[1].online!.reduce((sum, [a, b]) => sum + (b! - a), 0), entry.duration);
  t.deepEqual(trace.clients[2].online, trace.clients[0].online);
});

test('sessions repeat every finish_time up to the horizon, joined across the period\'s edge and cut at the horizon', (t) => {
  const trace = convertFedScale(device, behaviour, { ids: ['a'], horizonSeconds: 700 });
  // [0,80] [220,300] | [300,380] [520,600] | [600,680] …: the sessions meeting at 300 and 600 join.
  t.deepEqual(trace.clients[0].online, [[0, 80], [220, 380], [520, 680]]);
  const cut = convertFedScale(device, behaviour, { ids: ['a'], horizonSeconds: 550 });
  t.deepEqual(cut.clients[0].online, [[0, 80], [220, 380], [520, 550]]);
});

test('overlapping and zero-length FedScale sessions are merged and dropped; bad entries are refused with file, line and field', (t) => {
  const messy = inline({ 5: { active: [10, 0, 40, 70], inactive: [30, 20, 40, 90], finish_time: 80, duration: 0 } }, 'messy.json');
  t.deepEqual(convertFedScale(device, messy, { ids: ['a'] }).clients[0].online, [[0, 30], [70, 80]]);

  const lengths = inline({ 5: { active: [1], inactive: [2, 3], finish_time: 10 } }, 'lengths.json');
  const e1 = t.throws(() => convertFedScale(device, lengths, { ids: ['a'] }), { instanceOf: DeviceTraceError });
  t.regex(e1.message, /^ {2}- lengths\.json:6:\d+: at 5\.inactive: expected as many ends as active has starts \(1\), found 2$/m);
  const reversed = inline({ 5: { active: [5], inactive: [2], finish_time: 10 } }, 'reversed.json');
  t.regex(t.throws(() => convertFedScale(device, reversed, { ids: ['a'] }))!.message, /^ {2}- reversed\.json:\d+:\d+: at 5\.inactive\[0\]: expected an end ≥ the session's start \(active\[0\] = 5\), found 2 \(a number\)$/m);
  const slow = inline({ 1: { computation: 0, communication: 10 } }, 'slow.json');
  t.regex(t.throws(() => convertFedScale(slow, behaviour, { ids: ['a'] }))!.message, /^ {2}- slow\.json:3:\d+: at 1\.computation: expected ms of inference per sample > 0, found 0 \(a number\)$/m);
  const notCapacity = inline({ 1: { speed: 3 } }, 'wrong.json');
  t.regex(t.throws(() => convertFedScale(notCapacity, behaviour, { ids: ['a'] }))!.message, /^wrong\.json is not FedScale's client_device_capacity/);
});

test('`fedsim trace from-fedscale` writes a trace fedsim reads back; swapped files exit 2 naming file, line and field', async (t) => {
  const dir = tempDir(t);
  const out = join(dir, 'fs.json');
  const [made, refused] = await Promise.all([
    fedsim('trace', 'from-fedscale', 'test/fixtures/fedscale/device.json', 'test/fixtures/fedscale/behaviour.json', '-o', out, '--clients', '3', '--days', '7'),
    // Swapped files: the behaviour trace is not a device capacity file.
    fedsim('trace', 'from-fedscale', 'test/fixtures/fedscale/behaviour.json', 'test/fixtures/fedscale/device.json'),
  ]);
  t.is(refused.code, 2);
  t.regex(refused.stderr, /^error: test\/fixtures\/fedscale\/behaviour\.json is not FedScale's client_device_capacity .*:$/m);
  t.regex(refused.stderr, /^ {2}- test\/fixtures\/fedscale\/behaviour\.json:2:11: at 3834\.computation: expected a number, found nothing \(the field is missing\)$/m);
  t.is(made.code, 0, made.stderr);
  t.regex(made.stderr, /^wrote .*fs\.json: 3 clients, \d+ online intervals \(converted from FedScale/);
  const trace = readDeviceTrace(out, 'fs.json');
  t.deepEqual(trace.entries.map((e) => e.id), ['client-0', 'client-1', 'client-2']);
  t.is(trace.entries[0].profile.samplesPerSecond, 16.6666666667);
  // 3834's period is 6 days: of the second period, only the first session starts within 7 days (the next at 518,400 + 100,044 s).
  const online = trace.entries[1].online!;
  t.is(online.length / 2, 9);
  t.deepEqual(online.slice(16), [(518_400 + 12_788) * 1000, (518_400 + 65_881) * 1000]);
});
