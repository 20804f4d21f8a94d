/**
 * The few protobuf encodings the TensorBoard event writer needs, by hand (protocol buffers'
 * wire format: a field is a varint key (number << 3 | wire type) followed by its value):
 * varints, 64-bit doubles, 32-bit floats and length-delimited strings and messages. A
 * protobuf library would bring a .proto compiler step for three messages of two fields each.
 */
import { FlInvariantError } from '../errors.js';

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH = 2;
const WIRE_FIXED32 = 5;

/** Bytes of a message being built, field after field, in the order they are added. */
export class ProtoWriter {
  private readonly parts: number[] = [];

  /** An int64/uint64 field: `value` must be a safe non-negative integer (steps are rounds). */
  varint(field: number, value: number): this {
    // The writer's callers pass rounds and lengths: anything else is a bug in fedsim.
    if (!Number.isSafeInteger(value) || value < 0) throw new FlInvariantError(`protobuf varint field ${field}: ${value} is not a non-negative safe integer`, { op: 'protobuf', field: String(field) });
    this.key(field, WIRE_VARINT);
    this.rawVarint(value);
    return this;
  }

  double(field: number, value: number): this {
    this.key(field, WIRE_FIXED64);
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setFloat64(0, value, true);
    this.parts.push(...bytes);
    return this;
  }

  float(field: number, value: number): this {
    this.key(field, WIRE_FIXED32);
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setFloat32(0, value, true);
    this.parts.push(...bytes);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  bytes(field: number, value: Uint8Array): this {
    this.key(field, WIRE_LENGTH);
    this.rawVarint(value.length);
    this.parts.push(...value);
    return this;
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.parts);
  }

  private key(field: number, wireType: number): void {
    this.rawVarint(field * 8 + wireType);
  }

  private rawVarint(value: number): void {
    // Division, not bit shifts: shifts would truncate values above 2^31 to 32 bits.
    let rest = value;
    while (rest >= 0x80) {
      this.parts.push((rest % 0x80) | 0x80);
      rest = Math.floor(rest / 0x80);
    }
    this.parts.push(rest);
  }
}
