/**
 * The patches of a conv2d input, example by example (im2col), for per-example conv gradients.
 *
 * Example b's filter gradient is Σ_p U_b[p, :]ᵀ Δ_b[p, :], where p runs over the output
 * pixels, Δ_b[p, :] is the gradient at output pixel p, and U_b[p, :] the input window that
 * pixel reads — the filter taps in the filter's own row-major order (wR, wC, cin). So with U
 * as a [B, P, K] tensor (K = fH·fW·cin) a conv layer's per-example gradients are one batched
 * matrix product, exactly like a dense layer's (which is the P = 1 case).
 *
 * tfjs has no unfold op (PyTorch's torch.nn.functional.unfold, which Opacus uses). It is built
 * here from fH·fW strided slices of the padded input, one per filter tap, stacked on a new tap
 * axis: only copies, no arithmetic, on any backend, and the slices' geometry (padding of
 * 'same', output size) comes from tfjs's own computeConv2DInfo, the function its conv kernels
 * use, so U lines up with the conv's output pixels by construction.
 */
import * as tf from '@tensorflow/tfjs';

export interface ConvGeometry {
  strides: [number, number];
  pad: 'same' | 'valid';
}

/** U of shape [B, outHeight·outWidth, fH·fW·cin] for input a [B, H, W, cin] and a filter of shape [fH, fW, cin, cout]. */
export function unfoldPatches(a: tf.Tensor4D, filterShape: readonly number[], geometry: ConvGeometry): tf.Tensor3D {
  const [batch, , , channels] = a.shape;
  const [fH, fW] = filterShape;
  const info = tf.backend_util.computeConv2DInfo(a.shape, filterShape as [number, number, number, number], geometry.strides, 1, geometry.pad);
  const { top, bottom, left, right } = info.padInfo;
  const { outHeight, outWidth, strideHeight: sH, strideWidth: sW } = info;
  return tf.tidy(() => {
    const padded = top || bottom || left || right ? tf.pad(a, [[0, 0], [top, bottom], [left, right], [0, 0]]) : a;
    const taps: tf.Tensor4D[] = [];
    for (let wR = 0; wR < fH; wR++) {
      for (let wC = 0; wC < fW; wC++) {
        const begin = [0, wR, wC, 0];
        taps.push(
          sH === 1 && sW === 1
            ? tf.slice(padded, begin, [batch, outHeight, outWidth, channels])
            : (tf.stridedSlice(padded, begin, [batch, wR + (outHeight - 1) * sH + 1, wC + (outWidth - 1) * sW + 1, channels], [1, sH, sW, 1]) as tf.Tensor4D),
        );
      }
    }
    // [B, outH, outW, taps, cin]: for each output pixel, the taps in (wR, wC) order, each with its channels.
    const stacked = taps.length === 1 ? tf.expandDims(taps[0], 3) : tf.stack(taps, 3);
    return tf.reshape(stacked, [batch, outHeight * outWidth, fH * fW * channels]) as tf.Tensor3D;
  });
}
