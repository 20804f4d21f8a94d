/**
 * Errors of secure computation on a worker. Like WorkerError they cross the wire as an
 * ErrorPayload (`name`, `message`, `where`); the messages say which worker, object and
 * op, and what to do.
 */
export type SmpcErrorName =
  /** A share or ring message that does not fit (wrong length, value ≥ Q, bad modulus). */
  | 'InvalidShareError'
  /** Sharing something that cannot be shared (a float tensor without fixed precision, …). */
  | 'ShareError'
  /** Operands that do not fit together (shapes, fields, an object that is not a share). */
  | 'SmpcOpError'
  /** A Beaver multiplication or truncation that could not finish (a peer or the crypto provider failed). */
  | 'SmpcProtocolError';

export class SmpcError extends Error {
  constructor(
    name: SmpcErrorName,
    message: string,
    readonly where: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = name;
  }
}
