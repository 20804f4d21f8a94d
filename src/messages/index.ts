/** The protocol layer: message schemas, the op catalogue, the tensor codec and wire sizes. */
export * from './schemas.js';
export * from './ops.js';
export * from './errors.js';
export * from './plan-schema.js';
export { checkPlan, type PlanProblem } from './plan-check.js';
export { formatPlan, formatPlanOp, formatPlanArg, type StateDescription } from './plan-format.js';
export { decodeMessage, encodeMessage, prepareOutgoing, wireCodec, wireSize, WireFormatError, type PreparedMessage } from './wire.js';
export { jsonByteLength, frameJsonByteLength } from './json-size.js';
export { SMPC_MESSAGE_SCHEMAS, SmpcCommandSchema, RingReplySchema, DecimalSchema, FixedSchema, type SmpcCommand, type SmpcMessageType } from './smpc-schemas.js';
export { RingWireSchema, isRingWords, RING_WORDS_DTYPE, type RingWire, type WireBinary } from './ring-codec.js';
export { MODEL_MESSAGE_SCHEMAS, MODEL_ONE_WAY_TYPES, type ModelMessageType } from './model-messages.js';
export * from './forward-program.js';
export * from './optimizer-rule.js';
export * from './training-errors.js';
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
export { MAX_PAYLOAD_DEPTH, payloadDepth, tooDeep } from './nesting.js';
