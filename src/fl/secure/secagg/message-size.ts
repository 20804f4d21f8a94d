/**
 * Would-be wire size of a SecAgg+ message, passed as the `bytes` send option so that traffic
 * per client can be read from the event log.
 *
 * The frame mirrors src/messages/wire.ts: a 4-byte length, the UTF-8 JSON of
 * `{type, payload}` with every typed array replaced by a small `{"$bin":i}` marker, then each
 * typed array as a 4-byte length and its raw bytes. (We do not import that module: it is
 * about tfjs tensors, and SecAgg payloads hold only byte and uint32 arrays.)
 */
const FRAME_PREFIX = 4;

export function payloadBytes(type: string, payload: unknown): number {
  let binary = 0;
  let count = 0;
  const json = JSON.stringify({ type, payload }, (_key, value: unknown) => {
    if (ArrayBuffer.isView(value)) {
      binary += FRAME_PREFIX + value.byteLength;
      return { $bin: count++ };
    }
    return value;
  });
  return FRAME_PREFIX + Buffer.byteLength(json, 'utf8') + binary;
}
