/**
 * Training messages larger than the NATS server's `max_payload` (1 MB by default; a
 * Fashion-MNIST client's data set alone is about 1.9 MB) cross in parts.
 *
 * A message is split into parts of at most `partBytes(limit)` bytes, each sent as its own
 * frame (`kind: 'part'`) that names the transfer, its index, the number of parts and the
 * whole message's length and sha256. The receiver collects the parts of a transfer in any
 * order (a part sent twice is the same part), and only once all are in and the bytes hash to
 * the announced sha256 does it decode the whole as the message it is. Nothing is decoded from
 * a part alone, and a transfer whose parts disagree about what they belong to is refused.
 *
 * How the parts travel is the protocol's (protocol.ts): the bridge's task is fetched part by
 * part by the worker that took it; a worker's result is sent part by part to the bridge.
 */
import { sha256Hex } from '../../runtime/canonical.js';
import { MalformedMessageError } from '../errors.js';

/** Room left in each NATS message for a part's frame header (JSON: transfer id, numbers, digest). */
export const PART_HEADER_ROOM = 1024;

/** The largest slice of a message one part carries, for a server whose max_payload is `limit` bytes. */
export function partBytes(limit: number): number {
  if (!Number.isFinite(limit)) return Number.POSITIVE_INFINITY;
  if (limit <= PART_HEADER_ROOM * 2) {
    throw new MalformedMessageError(`the NATS server's max_payload is ${limit} bytes, too small for a training message part (at least ${PART_HEADER_ROOM * 2 + 1}); raise max_payload in its config file`);
  }
  return limit - PART_HEADER_ROOM;
}

/** What every part of one transfer says about the whole message. */
export interface TransferHeader {
  transfer: string;
  parts: number;
  bytes: number;
  sha256: string;
}

export interface MessagePart extends TransferHeader {
  index: number;
  chunk: Uint8Array;
}

/** The header a split of `body` into parts of `size` bytes carries. */
export function transferHeader(transfer: string, body: Uint8Array, size: number): TransferHeader {
  return { transfer, parts: Math.max(1, Math.ceil(body.length / size)), bytes: body.length, sha256: sha256Hex(body) };
}

/** Part `index` of `body` (a view, not a copy). */
export function partOf(body: Uint8Array, header: TransferHeader, size: number, index: number): MessagePart {
  if (!Number.isInteger(index) || index < 0 || index >= header.parts) {
    throw new MalformedMessageError(`transfer ${header.transfer} has parts 0..${header.parts - 1}; part ${index} was asked for`);
  }
  return { ...header, index, chunk: body.subarray(index * size, Math.min(body.length, (index + 1) * size)) };
}

/** The parts of one transfer as they come in; `add` returns the whole message once every part is in and checks out. */
export class PartsAssembly {
  private readonly chunks: Array<Uint8Array | undefined>;
  private received = 0;
  private receivedBytes = 0;

  constructor(readonly header: TransferHeader, private readonly maxBytes: number) {
    const { transfer, parts, bytes } = header;
    if (!Number.isInteger(parts) || parts < 1 || !Number.isInteger(bytes) || bytes < 0) throw new MalformedMessageError(`transfer ${transfer}: ${parts} parts of ${bytes} bytes is not a message`);
    if (bytes > maxBytes) throw new MalformedMessageError(`transfer ${transfer} announces ${bytes} bytes, more than the ${maxBytes} a training message may have here`);
    if (parts > bytes + 1) throw new MalformedMessageError(`transfer ${transfer} announces ${parts} parts for ${bytes} bytes`);
    this.chunks = new Array(parts).fill(undefined);
  }

  /** Adds a part; returns the whole message when this was the last one missing. */
  add(part: MessagePart): Uint8Array | undefined {
    const { transfer, parts, bytes, sha256 } = this.header;
    if (part.transfer !== transfer || part.parts !== parts || part.bytes !== bytes || part.sha256 !== sha256) {
      throw new MalformedMessageError(`a part of transfer ${part.transfer} disagrees with its other parts about the message (${part.parts} parts, ${part.bytes} bytes, sha256 ${part.sha256.slice(0, 12)}…)`);
    }
    if (!Number.isInteger(part.index) || part.index < 0 || part.index >= parts) throw new MalformedMessageError(`transfer ${transfer}: part ${part.index} of ${parts}`);
    if (this.chunks[part.index] !== undefined) return undefined; // the same part again (a resend): already in
    if (this.receivedBytes + part.chunk.length > bytes) throw new MalformedMessageError(`transfer ${transfer}: its parts hold more than the ${bytes} bytes announced`);
    this.chunks[part.index] = part.chunk.slice();
    this.received++;
    this.receivedBytes += part.chunk.length;
    if (this.received < parts) return undefined;
    if (this.receivedBytes !== bytes) throw new MalformedMessageError(`transfer ${transfer}: its parts hold ${this.receivedBytes} bytes, not the ${bytes} announced`);
    const whole = new Uint8Array(bytes);
    let at = 0;
    for (const chunk of this.chunks) {
      whole.set(chunk!, at);
      at += chunk!.length;
    }
    const digest = sha256Hex(whole);
    if (digest !== sha256) throw new MalformedMessageError(`transfer ${transfer}: the parts put together hash to ${digest.slice(0, 12)}…, not the announced ${sha256.slice(0, 12)}… (a part was damaged or belongs elsewhere)`);
    return whole;
  }

  get bytesHeld(): number {
    return this.receivedBytes;
  }
}

/**
 * The receiving side's transfers under way, bounded: at most `maxTransfers` at once (the
 * oldest is dropped to make room — its sender's lease or retry recovers), each at most
 * `maxBytes`. A part that is refused ends its transfer.
 */
export class PartsInbox {
  private readonly assemblies = new Map<string, PartsAssembly>();

  constructor(private readonly maxTransfers: number, private readonly maxBytes: number) {}

  /** Adds a part; the whole message when complete (its transfer then forgotten). Throws MalformedMessageError on a bad part. */
  add(part: MessagePart): Uint8Array | undefined {
    let assembly = this.assemblies.get(part.transfer);
    try {
      if (!assembly) {
        assembly = new PartsAssembly(part, this.maxBytes);
        this.assemblies.set(part.transfer, assembly);
        if (this.assemblies.size > this.maxTransfers) this.assemblies.delete(this.assemblies.keys().next().value!);
      }
      const whole = assembly.add(part);
      if (whole) this.assemblies.delete(part.transfer);
      return whole;
    } catch (error) {
      this.assemblies.delete(part.transfer);
      throw error;
    }
  }

  /** Forgets a transfer (its task settled, its lease ended). */
  drop(transfer: string): void {
    this.assemblies.delete(transfer);
  }

  get size(): number {
    return this.assemblies.size;
  }
}
