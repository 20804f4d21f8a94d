/**
 * Where each output position's window lies on the input, for the conv and
 * pool gradient kernels.
 *
 * The geometry itself always comes from tfjs (`computeConv2DInfo` /
 * `computePool2DInfo`, the calls the cpu kernels make), so 'same' / 'valid' /
 * explicit pads and rounding modes resolve exactly as on cpu. This file only
 * reshapes it for loops: short flat names, layout strides, and the window
 * of every output pixel clipped to the image.
 */
import * as tf from '@tensorflow/tfjs';
import { strides4, type Strides4 } from './heap.js';

type Shape4 = [number, number, number, number];

/** tfjs' Conv2DInfo under the names the kernel loops use. */
export interface WindowGeometry {
  /** tfjs' own description, for the result shapes (`inShape`, `filterShape`). */
  info: tf.backend_util.Conv2DInfo;
  batchSize: number;
  inHeight: number;
  inWidth: number;
  inChannels: number;
  outHeight: number;
  outWidth: number;
  outChannels: number;
  /** Pixels per image: inHeight · inWidth and outHeight · outWidth. */
  inPixels: number;
  outPixels: number;
  /** Filter taps per row / column. */
  fH: number;
  fW: number;
  /** Strides. */
  sH: number;
  sW: number;
  /** Dilations (the step between taps on the input). */
  dH: number;
  dW: number;
  /** Padding before the first input row / column. */
  top: number;
  left: number;
  /** Element strides of the input (x, dx) and of the output (y, dy). */
  xs: Strides4;
  ys: Strides4;
}

function flatten(info: tf.backend_util.Conv2DInfo): WindowGeometry {
  const channelsLast = info.dataFormat === 'channelsLast';
  return {
    info,
    batchSize: info.batchSize,
    inHeight: info.inHeight,
    inWidth: info.inWidth,
    inChannels: info.inChannels,
    outHeight: info.outHeight,
    outWidth: info.outWidth,
    outChannels: info.outChannels,
    inPixels: info.inHeight * info.inWidth,
    outPixels: info.outHeight * info.outWidth,
    fH: info.filterHeight,
    fW: info.filterWidth,
    sH: info.strideHeight,
    sW: info.strideWidth,
    dH: info.dilationHeight,
    dW: info.dilationWidth,
    top: info.padInfo.top,
    left: info.padInfo.left,
    xs: strides4(info.inHeight, info.inWidth, info.inChannels, channelsLast),
    ys: strides4(info.outHeight, info.outWidth, info.outChannels, channelsLast),
  };
}

/**
 * A dense conv2d. Gradients of conv2d only exist for dilation 1 in tfjs, and
 * its gradient kernels have no dilations attr, so none is read. NHWC or NCHW.
 */
export function denseConvWindow(
  inShape: number[],
  filterShape: number[],
  attrs: Pick<tf.Conv2DBackpropFilterAttrs, 'strides' | 'pad' | 'dataFormat' | 'dimRoundingMode'>,
): WindowGeometry {
  const dataFormat = tf.backend_util.convertConv2DDataFormat(attrs.dataFormat);
  return convWindow(inShape, filterShape, attrs, 1, false, dataFormat);
}

/** A depthwise conv2d (filter [fH, fW, inC, chMul]); NHWC only, as the forward op. */
export function depthwiseConvWindow(
  inShape: number[],
  filterShape: number[],
  attrs: Pick<
    tf.DepthwiseConv2dNativeBackpropFilterAttrs,
    'strides' | 'dilations' | 'pad' | 'dimRoundingMode'
  >,
): WindowGeometry {
  return convWindow(inShape, filterShape, attrs, attrs.dilations, true, 'channelsLast');
}

function convWindow(
  inShape: number[],
  filterShape: number[],
  attrs: Pick<tf.Conv2DBackpropFilterAttrs, 'strides' | 'pad' | 'dimRoundingMode'>,
  dilations: number | [number, number],
  depthwise: boolean,
  dataFormat: 'channelsFirst' | 'channelsLast',
): WindowGeometry {
  const { strides, pad, dimRoundingMode } = attrs;
  const info = tf.backend_util.computeConv2DInfo(
    inShape as Shape4,
    filterShape as Shape4,
    strides,
    dilations,
    pad,
    dimRoundingMode,
    depthwise,
    dataFormat,
  );
  return flatten(info);
}

/** A 2-D pool (outChannels = inChannels); NHWC. */
export function poolWindow(inShape: number[], attrs: tf.MaxPoolGradAttrs): WindowGeometry {
  const { filterSize, strides, pad, dimRoundingMode } = attrs;
  const info = tf.backend_util.computePool2DInfo(inShape as Shape4, filterSize, strides, 1, pad, dimRoundingMode);
  return flatten(info);
}

/**
 * Every output pixel's window, clipped to the image: the taps of output
 * pixel p = yR·outWidth + yC that land inside the input are entries
 * [start[p], start[p + 1]), in row-major tap order (taps in the padding read
 * zeros and are left out). Entry t names the tap, `tap[t]` = wR·fW + wC, and
 * the input pixel it reads, `inPixel[t]` = xR·inWidth + xC.
 *
 * Built once per kernel call (out pixels × taps entries: small next to the
 * batch × pixels × taps × channels of work, and a few hundred KiB at most for
 * MNIST/CIFAR-sized layers), so the kernels' inner loops do no bounds
 * arithmetic, only table reads, and every kernel sweeps its windows in the
 * order the original loops did: batch, output row, output column, tap row,
 * tap column. Same order, same floating-point sums.
 */
export interface ClippedWindows {
  start: Int32Array;
  tap: Int32Array;
  inPixel: Int32Array;
}

export function clippedWindows(g: WindowGeometry): ClippedWindows {
  const rows = axisSpans(g.outHeight, g.inHeight, g.sH, g.top, g.fH, g.dH);
  const cols = axisSpans(g.outWidth, g.inWidth, g.sW, g.left, g.fW, g.dW);
  const start = new Int32Array(g.outPixels + 1);
  for (let yR = 0, p = 0; yR < g.outHeight; yR++) {
    const rowTaps = rows.end[yR] - rows.first[yR];
    for (let yC = 0; yC < g.outWidth; yC++, p++) {
      start[p + 1] = start[p] + rowTaps * (cols.end[yC] - cols.first[yC]);
    }
  }
  const tap = new Int32Array(start[g.outPixels]);
  const inPixel = new Int32Array(start[g.outPixels]);
  let t = 0;
  for (let yR = 0; yR < g.outHeight; yR++) {
    for (let yC = 0; yC < g.outWidth; yC++) {
      for (let wR = rows.first[yR]; wR < rows.end[yR]; wR++) {
        const xR = rows.origin[yR] + wR * g.dH;
        for (let wC = cols.first[yC]; wC < cols.end[yC]; wC++, t++) {
          tap[t] = wR * g.fW + wC;
          inPixel[t] = xR * g.inWidth + cols.origin[yC] + wC * g.dW;
        }
      }
    }
  }
  return { start, tap, inPixel };
}

/**
 * Along one axis, for each output index y: the input index its first tap
 * would read (`origin`, negative inside the leading padding), and the taps
 * [first, end) whose input index origin + w·dilation lies in [0, inSize).
 */
function axisSpans(
  outSize: number,
  inSize: number,
  stride: number,
  pad: number,
  taps: number,
  dilation: number,
): { origin: Int32Array; first: Int32Array; end: Int32Array } {
  const origin = new Int32Array(outSize);
  const first = new Int32Array(outSize);
  const end = new Int32Array(outSize);
  for (let y = 0; y < outSize; y++) {
    const x0 = y * stride - pad;
    const w0 = Math.max(0, Math.ceil(-x0 / dilation));
    origin[y] = x0;
    first[y] = w0;
    end[y] = Math.max(w0, Math.min(taps, Math.ceil((inSize - x0) / dilation)));
  }
  return { origin, first, end };
}
