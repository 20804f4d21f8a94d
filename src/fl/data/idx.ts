/**
 * IDX files: the format of MNIST, Fashion-MNIST and EMNIST.
 *
 * Layout (all big-endian): two zero bytes, a dtype code, the number of dimensions,
 * one uint32 per dimension, then the elements in row-major order. Files are often
 * shipped gzipped, so readers sniff the gzip magic (0x1f 0x8b) rather than trusting
 * the file name. Every failure names the file and says what was expected, because the
 * usual cause is a wrong path or a half-downloaded file, not a bug: bytes that are not
 * IDX are a DataFormatError (download the file again), a file or directory that cannot be
 * read is an FlFault (where.file names it), a bad argument to encodeIdx an FlConfigError.
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { DataFormatError, FlConfigError, FlFault } from '../errors.js';

export type IdxDtype = 'ubyte' | 'sbyte' | 'short' | 'int' | 'float' | 'double';
export type IdxArray = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

export interface IdxData {
  dtype: IdxDtype;
  /** The raw dtype code from the magic (0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E). */
  dtypeCode: number;
  dims: number[];
  data: IdxArray;
}

interface DtypeInfo {
  name: IdxDtype;
  size: number;
}

const DTYPES: ReadonlyMap<number, DtypeInfo> = new Map([
  [0x08, { name: 'ubyte', size: 1 }],
  [0x09, { name: 'sbyte', size: 1 }],
  [0x0b, { name: 'short', size: 2 }],
  [0x0c, { name: 'int', size: 4 }],
  [0x0d, { name: 'float', size: 4 }],
  [0x0e, { name: 'double', size: 8 }],
]);

const hex = (n: number): string => `0x${n.toString(16).padStart(2, '0')}`;

const REDOWNLOAD = 'download the file again (a mirror may serve a partial file), or point to another copy';

function badBytes(source: string, what: string): DataFormatError {
  return new DataFormatError(`IDX ${source}: ${what}; ${REDOWNLOAD}`, { file: source });
}

function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * Parses an IDX image held in memory (gzipped or raw). `source` only labels error
 * messages. The returned array never aliases `buffer`.
 */
export function parseIdx(buffer: Uint8Array, source = '<buffer>'): IdxData {
  let bytes = buffer;
  if (isGzip(bytes)) {
    try {
      bytes = gunzipSync(bytes);
    } catch (err) {
      throw badBytes(source, `gzip data is corrupt or truncated (${(err as Error).message})`);
    }
  }
  if (bytes.length < 4) {
    throw badBytes(source, `truncated file: expected at least 4 bytes of magic, got ${bytes.length}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const info = DTYPES.get(bytes[2]);
  if (bytes[0] !== 0 || bytes[1] !== 0 || !info) {
    const magic = [...bytes.subarray(0, 4)].map(hex).join(' ');
    throw badBytes(
      source,
      `bad magic ${magic}: expected 0x00 0x00, a dtype code ` +
        `(0x08 ubyte, 0x09 sbyte, 0x0b short, 0x0c int, 0x0d float, 0x0e double) and the number of dimensions, so this is not an IDX file`,
    );
  }
  const ndim = bytes[3];
  const headerBytes = 4 + 4 * ndim;
  if (bytes.length < headerBytes) {
    throw badBytes(source, `truncated file: expected ${headerBytes} header bytes for ${ndim} dimensions, got ${bytes.length}`);
  }
  const dims: number[] = [];
  let count = 1;
  for (let i = 0; i < ndim; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    dims.push(d);
    count *= d;
  }
  const expected = headerBytes + count * info.size;
  if (bytes.length !== expected) {
    const what = bytes.length < expected ? 'truncated file' : 'trailing bytes after the data';
    throw badBytes(
      source,
      `${what}: expected ${expected} bytes (${headerBytes} header + ${count} × ${info.size}-byte ` + `${info.name} for dims [${dims.join(', ')}]), got ${bytes.length}`,
    );
  }
  return { dtype: info.name, dtypeCode: bytes[2], dims, data: decodeElements(view, headerBytes, count, info.name) };
}

function decodeElements(view: DataView, offset: number, count: number, dtype: IdxDtype): IdxArray {
  switch (dtype) {
    case 'ubyte':
      return new Uint8Array(view.buffer.slice(view.byteOffset + offset, view.byteOffset + offset + count));
    case 'sbyte':
      return new Int8Array(view.buffer.slice(view.byteOffset + offset, view.byteOffset + offset + count));
    case 'short': {
      const out = new Int16Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt16(offset + 2 * i, false);
      return out;
    }
    case 'int': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt32(offset + 4 * i, false);
      return out;
    }
    case 'float': {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(offset + 4 * i, false);
      return out;
    }
    case 'double': {
      const out = new Float64Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(offset + 8 * i, false);
      return out;
    }
  }
}

/** Reads and parses an IDX file (gzipped or raw, whatever its name says). */
export function readIdx(path: string): IdxData {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new FlFault(`IDX file not found: ${path}; check the path, or download the data set there`, { file: path, code }, { cause: err });
    throw new FlFault(`IDX file ${path} could not be read (${(err as Error).message}); check its permissions and that it is a file`, { file: path, code }, { cause: err });
  }
  return parseIdx(bytes, path);
}

function dtypeCodeOf(data: IdxArray): { code: number; size: number } {
  if (data instanceof Uint8Array) return { code: 0x08, size: 1 };
  if (data instanceof Int8Array) return { code: 0x09, size: 1 };
  if (data instanceof Int16Array) return { code: 0x0b, size: 2 };
  if (data instanceof Int32Array) return { code: 0x0c, size: 4 };
  if (data instanceof Float32Array) return { code: 0x0d, size: 4 };
  if (data instanceof Float64Array) return { code: 0x0e, size: 8 };
  const got = (data as unknown)?.constructor?.name ?? typeof data;
  throw new FlConfigError(`encodeIdx: data is a ${got}; pass a Uint8Array, Int8Array, Int16Array, Int32Array, Float32Array or Float64Array (IDX has no other element type)`, { op: 'encodeIdx', field: 'data' });
}

/** Encodes a typed array as raw (not gzipped) IDX bytes; the dtype follows the array type. */
export function encodeIdx(data: IdxArray, dims: readonly number[]): Buffer {
  const { code, size } = dtypeCodeOf(data);
  if (dims.length > 255) throw new FlConfigError(`encodeIdx: IDX holds at most 255 dimensions, got ${dims.length}; reshape the data to fewer`, { op: 'encodeIdx', field: 'dims' });
  let count = 1;
  for (const d of dims) {
    if (!Number.isInteger(d) || d < 0 || d > 0xffffffff) {
      throw new FlConfigError(`encodeIdx: dims must be integers in [0, 2^32), got [${dims.join(', ')}]; pass the array's shape`, { op: 'encodeIdx', field: 'dims' });
    }
    count *= d;
  }
  if (count !== data.length) {
    throw new FlConfigError(`encodeIdx: dims [${dims.join(', ')}] hold ${count} elements but the array has ${data.length}; the dims must be the array's shape`, { op: 'encodeIdx', field: 'dims' });
  }
  const header = 4 + 4 * dims.length;
  const out = Buffer.alloc(header + count * size);
  out[2] = code;
  out[3] = dims.length;
  dims.forEach((d, i) => out.writeUInt32BE(d, 4 + 4 * i));
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  for (let i = 0; i < count; i++) {
    const at = header + i * size;
    const v = data[i];
    switch (code) {
      case 0x08: view.setUint8(at, v); break;
      case 0x09: view.setInt8(at, v); break;
      case 0x0b: view.setInt16(at, v, false); break;
      case 0x0c: view.setInt32(at, v, false); break;
      case 0x0d: view.setFloat32(at, v, false); break;
      default: view.setFloat64(at, v, false);
    }
  }
  return out;
}

/**
 * Writes an IDX file. `gzip` defaults to whether the path ends in `.gz`. The gzip
 * header carries no timestamp (Node writes mtime 0), so output bytes are reproducible.
 */
export function writeIdx(path: string, data: IdxArray, dims: readonly number[], options: { gzip?: boolean } = {}): void {
  const raw = encodeIdx(data, dims);
  const gzip = options.gzip ?? path.endsWith('.gz');
  writeFileSync(path, gzip ? gzipSync(raw) : raw);
}

export interface MnistLike {
  /** count × rows × cols pixels, row-major, scaled from 0..255 to [0, 1]. */
  images: Float32Array;
  labels: Int32Array;
  count: number;
  rows: number;
  cols: number;
  /** max label + 1 (10 for MNIST and Fashion-MNIST; EMNIST letters, labelled 1..26, gives 27). */
  numClasses: number;
}

const INSTALL_HINT =
  'For Fashion-MNIST on Debian: `apt-get install dataset-fashion-mnist` puts them in /usr/share/datasets/fashion-mnist';

/** Standard names first; the dotted variants are how some mirrors (e.g. Kaggle) ship the same files. */
function candidateNames(prefix: 'train' | 't10k', kind: 'images-idx3' | 'labels-idx1'): string[] {
  const dashed = `${prefix}-${kind}-ubyte`;
  const dotted = `${prefix}-${kind.replace('-', '.')}-ubyte`;
  return [dashed, `${dashed}.gz`, dotted, `${dotted}.gz`];
}

function findFile(dir: string, present: readonly string[], names: string[], what: string): string {
  const name = names.find((n) => present.includes(n));
  if (name === undefined) {
    const found = present.length > 0 ? present.join(', ') : '(nothing)';
    throw new FlFault(`No ${what} file in ${dir}: looked for ${names.join(' / ')}; found: ${found}. ${INSTALL_HINT}`, { file: dir, looked: names });
  }
  return join(dir, name);
}

/**
 * Loads one split of an MNIST-format directory (MNIST, Fashion-MNIST, EMNIST).
 * `split: 'test'` reads the `t10k-*` files, as the original distribution names them.
 */
export function loadMnistLike(dir: string, options: { split: 'train' | 'test' }): MnistLike {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new FlFault(`MNIST-like data directory not found: ${dir}. ${INSTALL_HINT}`, { file: dir });
  }
  const present = readdirSync(dir).sort();
  const prefix = options.split === 'train' ? 'train' : 't10k';
  const imagesPath = findFile(dir, present, candidateNames(prefix, 'images-idx3'), `${options.split} images`);
  const labelsPath = findFile(dir, present, candidateNames(prefix, 'labels-idx1'), `${options.split} labels`);

  const img = readIdx(imagesPath);
  if (img.dtype !== 'ubyte' || img.dims.length !== 3) {
    throw new DataFormatError(`${imagesPath}: expected 3-dimensional ubyte images, got ${img.dtype} [${img.dims.join(', ')}]; this is not an MNIST-format images file (the labels file in its place?)`, { file: imagesPath });
  }
  const lab = readIdx(labelsPath);
  if (lab.dtype !== 'ubyte' || lab.dims.length !== 1) {
    throw new DataFormatError(`${labelsPath}: expected 1-dimensional ubyte labels, got ${lab.dtype} [${lab.dims.join(', ')}]; this is not an MNIST-format labels file (the images file in its place?)`, { file: labelsPath });
  }
  const [count, rows, cols] = img.dims;
  if (lab.dims[0] !== count) {
    throw new DataFormatError(
      `Images/labels count mismatch: ${imagesPath} has ${count} images but ${labelsPath} has ${lab.dims[0]} labels; the two files come from different downloads or splits, fetch both again`,
      { file: imagesPath, labels: labelsPath },
    );
  }
  const images = new Float32Array(img.data.length);
  for (let i = 0; i < images.length; i++) images[i] = img.data[i] / 255;
  const labels = Int32Array.from(lab.data);
  let maxLabel = -1;
  for (const l of labels) if (l > maxLabel) maxLabel = l;
  return { images, labels, count, rows, cols, numClasses: maxLabel + 1 };
}
