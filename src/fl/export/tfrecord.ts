/**
 * TFRecord framing, the container of TensorBoard's event files (and of .tfrecord data):
 *
 *   uint64 LE  length of the data
 *   uint32 LE  masked CRC-32C of those 8 length bytes
 *   bytes      the data
 *   uint32 LE  masked CRC-32C of the data
 *
 * CRC-32C is the Castagnoli CRC (RFC 3720, iSCSI), from the pure-JS `crc-32` package. The
 * mask — rotate right by 15, add 0xa282ead8 — is TensorFlow's (tensorflow/core/lib/hash/crc32c.h):
 * a CRC stored next to the data it covers is masked so that the CRC of a string holding
 * embedded CRCs stays well distributed.
 */
import CRC32C from 'crc-32/crc32c.js';

const MASK_DELTA = 0xa282ead8;

/** The CRC-32C of `bytes`, as an unsigned 32-bit integer. */
export function crc32c(bytes: Uint8Array): number {
  return CRC32C.buf(bytes) >>> 0;
}

/** TensorFlow's masked CRC-32C. */
export function maskedCrc32c(bytes: Uint8Array): number {
  const crc = crc32c(bytes);
  return (((crc >>> 15) | (crc << 17)) + MASK_DELTA) >>> 0;
}

/** One record: `data` framed with its length and both checksums. */
export function tfRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + 4 + data.length + 4);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(data.length), true);
  view.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(data, 12);
  view.setUint32(12 + data.length, maskedCrc32c(data), true);
  return out;
}
