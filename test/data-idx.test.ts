import test from 'ava';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { encodeIdx, loadMnistLike, parseIdx, readIdx, writeIdx, type IdxArray, type IdxDtype } from '../src/fl/data/idx.js';
import { DataFormatError, FlConfigError, FlFault } from '../src/fl/errors.js';

const root = mkdtempSync(join(tmpdir(), 'fedsim-idx-'));
test.after.always(() => rmSync(root, { recursive: true, force: true }));

let dirCounter = 0;
function freshDir(): string {
  const dir = join(root, `d${dirCounter++}`);
  mkdirSync(dir);
  return dir;
}

const samples: Array<[IdxDtype, IdxArray, number[]]> = [
  ['ubyte', Uint8Array.from([0, 1, 127, 128, 255, 42]), [2, 3]],
  ['sbyte', Int8Array.from([-128, -1, 0, 1, 127, 5]), [6]],
  ['short', Int16Array.from([-32768, -2, 0, 3, 32767, 1000]), [3, 2]],
  ['int', Int32Array.from([-2147483648, -7, 0, 9, 2147483647, 123456]), [1, 2, 3]],
  ['float', Float32Array.from([-1.5, 0, 0.1, 3.4e38, -0, 1e-30]), [2, 3]],
  ['double', Float64Array.from([-1.5, 0, 0.1, 1.7e308, Math.PI, 1e-300]), [6, 1]],
];

for (const [dtype, data, dims] of samples) {
  for (const gzip of [false, true]) {
    test(`round trip ${dtype} ${gzip ? 'gzipped' : 'raw'}`, (t) => {
      const path = join(root, `rt-${dtype}-${gzip}.idx${gzip ? '.gz' : ''}`);
      writeIdx(path, data, dims);
      const bytes = readFileSync(path);
      t.is(bytes[0] === 0x1f && bytes[1] === 0x8b, gzip, 'gzip follows the .gz suffix by default');
      const back = readIdx(path);
      t.is(back.dtype, dtype);
      t.deepEqual(back.dims, dims);
      t.is(back.data.constructor, data.constructor);
      t.deepEqual([...back.data], [...data]);
    });
  }
}

test('gzip is detected by magic, not by name, and gzip output is reproducible', (t) => {
  const data = Uint8Array.from({ length: 100 }, (_, i) => i);
  const a = join(root, 'magic-a.bin');
  const b = join(root, 'magic-b.bin');
  writeIdx(a, data, [10, 10], { gzip: true });
  writeIdx(b, data, [10, 10], { gzip: true });
  t.deepEqual(readFileSync(a), readFileSync(b));
  t.deepEqual([...readIdx(a).data], [...data]);
  const raw = join(root, 'raw.gz');
  writeIdx(raw, data, [100], { gzip: false });
  t.is(readFileSync(raw)[0], 0);
  t.deepEqual(readIdx(raw).dims, [100]);
});

test('header layout is big-endian with the standard magic', (t) => {
  const bytes = encodeIdx(Uint8Array.from([1, 2, 3, 4, 5, 6]), [2, 3]);
  t.deepEqual([...bytes.subarray(0, 12)], [0, 0, 0x08, 2, 0, 0, 0, 2, 0, 0, 0, 3]);
  t.deepEqual([...encodeIdx(Int16Array.from([258]), [1]).subarray(8)], [1, 2]);
});

test('parseIdx does not alias the input buffer', (t) => {
  const bytes = encodeIdx(Uint8Array.from([7, 8]), [2]);
  const parsed = parseIdx(bytes);
  bytes[8] = 99;
  t.deepEqual([...parsed.data], [7, 8]);
});

test('bad magic is reported', (t) => {
  const error = t.throws(() => parseIdx(Uint8Array.from([1, 2, 8, 1, 0, 0, 0, 0]), 'x.idx'), { instanceOf: DataFormatError, message: /x\.idx: bad magic 0x01 0x02 0x08 0x01.*download the file again/ });
  t.deepEqual(error.where, { file: 'x.idx' });
  t.throws(() => parseIdx(Uint8Array.from([0, 0, 0x0a, 1, 0, 0, 0, 0])), { message: /bad magic 0x00 0x00 0x0a 0x01.*dtype code/ });
});

test('truncated files report expected and actual byte counts', (t) => {
  t.throws(() => parseIdx(Uint8Array.from([0, 0])), { message: /truncated file: expected at least 4 bytes of magic, got 2/ });
  t.throws(() => parseIdx(Uint8Array.from([0, 0, 8, 3, 0, 0, 0, 1])), {
    message: /truncated file: expected 16 header bytes for 3 dimensions, got 8/,
  });
  const full = encodeIdx(Float32Array.from([1, 2, 3, 4]), [2, 2]);
  t.throws(() => parseIdx(full.subarray(0, full.length - 3), 'f.idx'), {
    message: /f\.idx: truncated file: expected 28 bytes \(12 header \+ 4 × 4-byte float for dims \[2, 2\]\), got 25/,
  });
  const path = join(root, 'trunc.idx.gz');
  writeFileSync(path, gzipSync(full.subarray(0, 20)));
  t.throws(() => readIdx(path), { message: new RegExp(`${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: truncated file: expected 28 bytes.*got 20`) });
});

test('trailing bytes are reported', (t) => {
  const full = encodeIdx(Uint8Array.from([1, 2]), [2]);
  const longer = Buffer.concat([full, Buffer.from([0, 0])]);
  t.throws(() => parseIdx(longer), { message: /trailing bytes after the data: expected 10 bytes .* got 12/ });
});

test('corrupt gzip is reported', (t) => {
  const gz = gzipSync(encodeIdx(Uint8Array.from({ length: 1000 }, (_, i) => i % 251), [1000]));
  t.throws(() => parseIdx(gz.subarray(0, gz.length / 2), 'half.gz'), { message: /half\.gz: gzip data is corrupt or truncated/ });
});

test('a missing file names its path', (t) => {
  const path = join(root, 'no-such-file.idx');
  // Not the file's bytes but the environment: a fault, not a format error.
  const error = t.throws(() => readIdx(path), { instanceOf: FlFault });
  t.true(error.message.startsWith(`IDX file not found: ${path}; `), error.message);
  t.deepEqual(error.where, { file: path, code: 'ENOENT' });
});

test('encodeIdx validates its arguments', (t) => {
  t.throws(() => encodeIdx(Uint8Array.from([1, 2, 3]), [2, 2]), { message: /dims \[2, 2\] hold 4 elements but the array has 3/ });
  t.throws(() => encodeIdx(Uint8Array.from([1]), [1.5]), { message: /dims must be integers/ });
  t.throws(() => encodeIdx(new Uint16Array(2) as unknown as IdxArray, [2]), { instanceOf: FlConfigError, message: /data is a Uint16Array/ });
});

/** Writes a tiny MNIST-like split: `count` images of rows×cols with pixel i%256, labels i%10. */
function writeSplit(dir: string, prefix: 'train' | 't10k', count: number, rows: number, cols: number, gzip: boolean, dotted = false): void {
  const ext = gzip ? '.gz' : '';
  const pixels = Uint8Array.from({ length: count * rows * cols }, (_, i) => i % 256);
  const labels = Uint8Array.from({ length: count }, (_, i) => i % 10);
  const images = dotted ? `${prefix}-images.idx3-ubyte` : `${prefix}-images-idx3-ubyte`;
  const labs = dotted ? `${prefix}-labels.idx1-ubyte` : `${prefix}-labels-idx1-ubyte`;
  writeIdx(join(dir, images + ext), pixels, [count, rows, cols], { gzip });
  writeIdx(join(dir, labs + ext), labels, [count], { gzip });
}

test('loadMnistLike reads both splits, gzipped or raw, scaled to [0, 1]', (t) => {
  const dir = freshDir();
  writeSplit(dir, 'train', 30, 4, 3, true);
  writeSplit(dir, 't10k', 5, 4, 3, false);
  const train = loadMnistLike(dir, { split: 'train' });
  t.is(train.count, 30);
  t.is(train.rows, 4);
  t.is(train.cols, 3);
  t.is(train.numClasses, 10);
  t.true(train.images instanceof Float32Array);
  t.true(train.labels instanceof Int32Array);
  t.is(train.images.length, 30 * 4 * 3);
  t.is(train.images[0], 0);
  t.is(train.images[255], 1);
  t.is(train.images[51], Math.fround(51 / 255));
  t.deepEqual([...train.labels.subarray(0, 12)], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);
  const testSplit = loadMnistLike(dir, { split: 'test' });
  t.is(testSplit.count, 5);
  t.is(testSplit.numClasses, 5);
  t.deepEqual([...testSplit.labels], [0, 1, 2, 3, 4]);
});

test('loadMnistLike accepts the dotted file names some mirrors use', (t) => {
  const dir = freshDir();
  writeSplit(dir, 'train', 3, 2, 2, false, true);
  t.is(loadMnistLike(dir, { split: 'train' }).count, 3);
});

test('loadMnistLike: a missing directory names it and says how to install Fashion-MNIST', (t) => {
  const dir = join(root, 'nowhere');
  const err = t.throws(() => loadMnistLike(dir, { split: 'train' }), { instanceOf: FlFault });
  t.regex(err.message, new RegExp(`not found: ${dir}`));
  t.regex(err.message, /apt-get install dataset-fashion-mnist/);
  t.regex(err.message, /\/usr\/share\/datasets\/fashion-mnist/);
});

test('loadMnistLike: a missing file names the directory, the names tried and what was found', (t) => {
  const dir = freshDir();
  writeSplit(dir, 't10k', 2, 2, 2, true);
  writeFileSync(join(dir, 'README'), 'hello');
  const err = t.throws(() => loadMnistLike(dir, { split: 'train' }));
  t.regex(err.message, new RegExp(`No train images file in ${dir}`));
  t.regex(err.message, /train-images-idx3-ubyte \/ train-images-idx3-ubyte\.gz/);
  t.regex(err.message, /found: README, t10k-images-idx3-ubyte\.gz, t10k-labels-idx1-ubyte\.gz/);
  t.regex(err.message, /apt-get install dataset-fashion-mnist/);

  const empty = freshDir();
  t.throws(() => loadMnistLike(empty, { split: 'test' }), { message: /No test images file .*found: \(nothing\)/ });

  const noLabels = freshDir();
  writeIdx(join(noLabels, 'train-images-idx3-ubyte'), new Uint8Array(4), [1, 2, 2]);
  t.throws(() => loadMnistLike(noLabels, { split: 'train' }), { message: /No train labels file/ });
});

test('loadMnistLike: an images/labels count mismatch is reported', (t) => {
  const dir = freshDir();
  writeIdx(join(dir, 'train-images-idx3-ubyte.gz'), new Uint8Array(3 * 4), [3, 2, 2]);
  writeIdx(join(dir, 'train-labels-idx1-ubyte.gz'), new Uint8Array(4), [4]);
  t.throws(() => loadMnistLike(dir, { split: 'train' }), { instanceOf: DataFormatError, message: /count mismatch: .* has 3 images but .* has 4 labels/ });
});

test('loadMnistLike: wrong dtypes or shapes are reported', (t) => {
  const dir = freshDir();
  writeIdx(join(dir, 'train-images-idx3-ubyte'), new Float32Array(4), [1, 2, 2]);
  writeIdx(join(dir, 'train-labels-idx1-ubyte'), new Uint8Array(1), [1]);
  t.throws(() => loadMnistLike(dir, { split: 'train' }), { message: /expected 3-dimensional ubyte images, got float \[1, 2, 2\]/ });
  const dir2 = freshDir();
  writeIdx(join(dir2, 'train-images-idx3-ubyte'), new Uint8Array(4), [1, 2, 2]);
  writeIdx(join(dir2, 'train-labels-idx1-ubyte'), new Uint8Array(2), [1, 2]);
  t.throws(() => loadMnistLike(dir2, { split: 'train' }), { message: /expected 1-dimensional ubyte labels, got ubyte \[1, 2\]/ });
});

test('loadMnistLike: a corrupt file inside the directory is reported with its path', (t) => {
  const dir = freshDir();
  writeFileSync(join(dir, 'train-images-idx3-ubyte'), Buffer.from([0x12, 0x34, 0x56, 0x78]));
  writeIdx(join(dir, 'train-labels-idx1-ubyte'), new Uint8Array(1), [1]);
  t.throws(() => loadMnistLike(dir, { split: 'train' }), { message: /train-images-idx3-ubyte: bad magic/ });
});

// Optional: the real Fashion-MNIST (Debian's dataset-fashion-mnist), only when it is present.
const fashionDir = process.env.FEDSIM_FASHION_MNIST_DIR ?? '/usr/share/datasets/fashion-mnist';
const withFashion = existsSync(fashionDir) ? test : test.skip;
withFashion('real Fashion-MNIST loads with the documented shapes', (t) => {
  const testSplit = loadMnistLike(fashionDir, { split: 'test' });
  t.is(testSplit.count, 10000);
  t.is(testSplit.rows, 28);
  t.is(testSplit.cols, 28);
  t.is(testSplit.numClasses, 10);
  const counts = new Array<number>(10).fill(0);
  for (const l of testSplit.labels) counts[l]++;
  t.deepEqual(counts, new Array<number>(10).fill(1000));
  let max = 0;
  for (const p of testSplit.images) if (p > max) max = p;
  t.is(max, 1);
  const train = loadMnistLike(fashionDir, { split: 'train' });
  t.is(train.count, 60000);
  t.is(train.images.length, 60000 * 28 * 28);
});
