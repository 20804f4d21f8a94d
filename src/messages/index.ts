/** The protocol layer: message schemas, the op catalogue, the tensor codec and wire sizes. */
export * from './schemas.js';
export * from './ops.js';
export * from './errors.js';
export { decodeMessage, encodeMessage, prepareOutgoing, wireSize, WireFormatError, type PreparedMessage } from './wire.js';
export { jsonByteLength, frameJsonByteLength } from './json-size.js';
export {
  claimDelivery,
  decodeTensor,
  disposeTensorsIn,
  encodeTensor,
  isTensor,
  isVariable,
  tensorDataBytes,
  tensorsIn,
  type EncodedTensor,
  type WireDType,
} from './tensor-codec.js';
