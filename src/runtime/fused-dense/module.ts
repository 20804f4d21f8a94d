/**
 * The fused trainer's WebAssembly module (built from assembly/fused-dense.ts and fused-conv.ts by
 * `npm run build:kernels`), instantiated once per thread, and a bump allocator over its memory.
 *
 * Synchronous on purpose: the module is 12 KB, so `new WebAssembly.Module` costs well under a
 * millisecond, and trainLocal — which runs inside an actor's synchronous message handler — can
 * use it without an await.
 */
import { readFileSync } from 'node:fs';

/** Bumped whenever the kernels' arithmetic changes: run log headers name it, so a replay can tell. */
export const FUSED_DENSE_VERSION = 1;

/**
 * The built-in cnn's fused training (assembly/fused-conv.ts and fused-conv-layers.ts), versioned
 * apart: it came after fused-dense-v1, whose logs trained CNNs on tfjs ops and must replay so.
 */
export const FUSED_CNN_VERSION = 1;

/** The parts of the WebAssembly API used here (the project's TypeScript lib has no DOM types). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
const { Module, Instance } = (globalThis as unknown as {
  WebAssembly: { Module: new (bytes: Uint8Array) => object; Instance: new (module: object, imports: object) => { exports: unknown } };
}).WebAssembly;

/**
 * Whether dense models train in these kernels in this process: on the wasm backend (the
 * default; cpu stays the plain-JS reference), unless FEDSIM_FUSED_DENSE=0 asks for tfjs ops.
 */
export function fusedDenseEnabled(backend: string): boolean {
  return backend === 'wasm' && process.env.FEDSIM_FUSED_DENSE !== '0';
}

/** Whether the built-in cnn trains in these kernels too: as dense models, unless FEDSIM_FUSED_CNN=0. */
export function fusedCnnEnabled(backend: string): boolean {
  return fusedDenseEnabled(backend) && process.env.FEDSIM_FUSED_CNN !== '0';
}

/**
 * What a run log header adds to the backend's name when models train here, e.g.
 * `wasm 4.22.0 fused-dense-v1 fused-cnn-v1`.
 */
export function fusedDenseLabel(backend: string): string {
  if (!fusedDenseEnabled(backend)) return '';
  return ` fused-dense-v${FUSED_DENSE_VERSION}${fusedCnnEnabled(backend) ? ` fused-cnn-v${FUSED_CNN_VERSION}` : ''}`;
}

/**
 * Makes this process train dense models as the run that recorded a log did: a header whose
 * backend label names the fused kernels switches them on, one without (recorded with
 * FEDSIM_FUSED_DENSE=0, or before the kernels existed) switches them off, so `fedsim replay`
 * re-executes the same arithmetic. A label naming another version is left for the header check
 * to report. The cnn follows `fused-cnn-vN` alike: a log from before it (`fused-dense-v1` alone)
 * trained CNNs on tfjs ops.
 */
export function followRecordedFusedDense(label: string): void {
  if (!label.startsWith('wasm ')) return;
  process.env.FEDSIM_FUSED_DENSE = /\bfused-dense-v\d+\b/.test(label) ? '1' : '0';
  process.env.FEDSIM_FUSED_CNN = /\bfused-cnn-v\d+\b/.test(label) ? '1' : '0';
}

/** The module's exports (see assembly/fused-dense.ts for what each computes). */
export interface FusedDenseKernels {
  memory: WasmMemory;
  heapBase(): number;
  setUpdate(rule: number, lr: number, momentum: number, beta2: number, epsilon: number, proxMu: number, termPull: number, termOffset: boolean): void;
  setAdamStep(correction1: number, correction2: number): void;
  gatherRows(x: number, order: number, start: number, count: number, width: number, out: number): void;
  gatherLabels(labels: number, order: number, start: number, count: number, out: number): void;
  denseForward(a: number, w: number, bias: number, out: number, m: number, k: number, n: number, relu: boolean): void;
  softmaxCrossEntropy(z: number, labels: number, g: number, m: number, n: number): number;
  meanSquaredError(z: number, t: number, g: number, m: number, n: number): number;
  backpropInput(g: number, w: number, aPrev: number, gPrev: number, m: number, k: number, n: number): void;
  denseUpdate(a: number, g: number, w: number, bias: number, m: number, k: number, n: number, strideW: number, strideB: number): void;
  im2col(x: number, patches: number, batch: number, h: number, w: number, c: number, k: number, pad: number): void;
  col2im(gPatches: number, aIn: number, gIn: number, batch: number, h: number, w: number, c: number, k: number, pad: number): void;
  maxPool(a: number, out: number, argmax: number, batch: number, h: number, w: number, c: number): void;
  transpose(a: number, out: number, rows: number, cols: number): void;
  maxPoolBackward(gOut: number, argmax: number, gIn: number, outputCount: number, inputCount: number): void;
}

/** Update rules, as assembly/fused-dense.ts numbers them. */
export const UpdateRule = { sgd: 0, momentum: 1, nesterov: 2, adam: 3 } as const;

/**
 * A parameter's block in wasm memory: the weights, then parallel buffers of their size in this
 * order (assembly/fused-dense.ts, update4). The block is Slot.count × the padded size.
 */
export const Slot = { weights: 0, proxAnchor: 1, termAnchor: 2, termOffset: 3, velocity: 4, secondMoment: 5, count: 6 } as const;

let instance: FusedDenseKernels | undefined;

/** This thread's instance of the module (created on first use). */
export function fusedDenseKernels(): FusedDenseKernels {
  if (!instance) {
    const bytes = readFileSync(new URL('./fused-dense.wasm', import.meta.url));
    const module = new Module(bytes);
    instance = new Instance(module, { env: { abort: abortFromWasm } }).exports as unknown as FusedDenseKernels;
  }
  return instance;
}

/** AssemblyScript's abort hook; built with --noAssert, so only a kernel bug reaches it. */
function abortFromWasm(): never {
  throw new Error('fused dense kernel aborted (a bug in assembly/fused-dense.ts: please report it)');
}

const PAGE_BYTES = 65536;

/**
 * Places f32/i32 buffers in the module's memory, 16-byte aligned (SIMD loads), growing the
 * memory as needed. One arena per training call: `reset()` reuses the space, the memory itself
 * only grows (a high-water mark per thread).
 */
export class WasmArena {
  private next: number;

  constructor(private readonly kernels: FusedDenseKernels) {
    this.next = kernels.heapBase();
  }

  /** Byte offset of a fresh region of `count` 4-byte elements. */
  alloc(count: number): number {
    const at = this.next;
    this.next = at + Math.ceil((count * 4) / 16) * 16;
    const memory = this.kernels.memory;
    if (this.next > memory.buffer.byteLength) {
      try {
        memory.grow(Math.ceil((this.next - memory.buffer.byteLength) / PAGE_BYTES));
      } catch (error) {
        // wasm32 memory stops at 4 GiB: a client's data set and the model must fit in it together.
        throw new RangeError(
          `the fused dense kernels need ${(this.next / 2 ** 20).toFixed(0)} MiB of WebAssembly memory for this training call, more than it can grow to (${(error as Error).message}); ` +
            'train on fewer samples per client, or set FEDSIM_FUSED_DENSE=0 to train on tfjs ops',
        );
      }
    }
    return at;
  }

  /** Copies `values` into a fresh region and returns its offset. */
  put(values: Float32Array | Int32Array): number {
    const at = this.alloc(values.length);
    if (values instanceof Float32Array) this.f32(at, values.length).set(values);
    else this.i32(at, values.length).set(values);
    return at;
  }

  /** A Float32Array view of `count` floats at `at` (valid until the memory next grows). */
  f32(at: number, count: number): Float32Array {
    return new Float32Array(this.kernels.memory.buffer, at, count);
  }

  /** An Int32Array view of `count` ints at `at` (valid until the memory next grows). */
  i32(at: number, count: number): Int32Array {
    return new Int32Array(this.kernels.memory.buffer, at, count);
  }
}
