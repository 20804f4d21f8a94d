/**
 * A reader of TensorBoard event files written independently of src/fl/export: its own
 * bit-by-bit CRC-32C (reflected polynomial 0x82F63B78, RFC 3720) and its own protobuf
 * decoding, so a test that reads fedsim's files with it checks the format, not the writer
 * against itself.
 */

/** CRC-32C one bit at a time: slow and obviously right. */
export function referenceCrc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** TensorFlow's mask (tensorflow/core/lib/hash/crc32c.h): rotate right 15, add 0xa282ead8. */
export function referenceMask(crc: number): number {
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) % 2 ** 32;
}

export interface ScalarValue {
  tag: string;
  simpleValue: number;
}

export interface TfEvent {
  wallTime: number;
  step: number;
  fileVersion?: string;
  values?: ScalarValue[];
}

/** The records of a TFRecord file; throws on a bad length or data CRC. */
export function readRecords(file: Uint8Array): Uint8Array[] {
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const records: Uint8Array[] = [];
  let at = 0;
  while (at < file.length) {
    if (at + 12 > file.length) throw new Error(`truncated record header at byte ${at}`);
    const length = Number(view.getBigUint64(at, true));
    if (view.getUint32(at + 8, true) !== referenceMask(referenceCrc32c(file.subarray(at, at + 8)))) throw new Error(`bad length CRC at byte ${at}`);
    const data = file.subarray(at + 12, at + 12 + length);
    if (data.length !== length || at + 16 + length > file.length) throw new Error(`truncated record at byte ${at}`);
    if (view.getUint32(at + 12 + length, true) !== referenceMask(referenceCrc32c(data))) throw new Error(`bad data CRC at byte ${at}`);
    records.push(data);
    at += 16 + length;
  }
  return records;
}

interface Field {
  field: number;
  wire: number;
  value: number | Uint8Array;
}

function fields(bytes: Uint8Array): Field[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Field[] = [];
  let at = 0;
  const varint = () => {
    let value = 0;
    let scale = 1;
    for (;;) {
      const b = bytes[at++];
      value += (b & 0x7f) * scale;
      scale *= 128;
      if (b < 0x80) return value;
    }
  };
  while (at < bytes.length) {
    const key = varint();
    const field = Math.floor(key / 8);
    const wire = key % 8;
    if (wire === 0) out.push({ field, wire, value: varint() });
    else if (wire === 1) {
      out.push({ field, wire, value: view.getFloat64(at, true) });
      at += 8;
    } else if (wire === 5) {
      out.push({ field, wire, value: view.getFloat32(at, true) });
      at += 4;
    } else if (wire === 2) {
      const n = varint();
      out.push({ field, wire, value: bytes.subarray(at, at + n) });
      at += n;
    } else throw new Error(`unexpected wire type ${wire}`);
  }
  return out;
}

/** Event { wall_time = 1, step = 2, file_version = 3, summary = 5 { value = 1 { tag = 1, simple_value = 2 } } }. */
export function decodeEvent(record: Uint8Array): TfEvent {
  const event: TfEvent = { wallTime: NaN, step: 0 };
  for (const f of fields(record)) {
    if (f.field === 1 && f.wire === 1) event.wallTime = f.value as number;
    else if (f.field === 2 && f.wire === 0) event.step = f.value as number;
    else if (f.field === 3 && f.wire === 2) event.fileVersion = new TextDecoder().decode(f.value as Uint8Array);
    else if (f.field === 5 && f.wire === 2) {
      event.values = fields(f.value as Uint8Array)
        .filter((v) => v.field === 1 && v.wire === 2)
        .map((v) => {
          const inner = fields(v.value as Uint8Array);
          return {
            tag: new TextDecoder().decode(inner.find((x) => x.field === 1)!.value as Uint8Array),
            simpleValue: inner.find((x) => x.field === 2 && x.wire === 5)!.value as number,
          };
        });
    } else throw new Error(`unexpected field ${f.field} (wire ${f.wire}) in an Event`);
  }
  return event;
}

export const readEvents = (file: Uint8Array): TfEvent[] => readRecords(file).map(decodeEvent);
