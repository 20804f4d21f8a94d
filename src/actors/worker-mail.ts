/**
 * How a worker sends: every outgoing payload goes through the wire preparation
 * (size for the link metrics, an eager digest when it carries tensors, and a real
 * encode/decode round trip in strict mode) before it reaches the runtime.
 */
import { type ActorIO, type Envelope, ERROR_REPLY, type ErrorPayload, toErrorPayload } from '../runtime/index.js';
import { prepareOutgoing, type ReplyPayload } from '../messages/index.js';

/** The part of a request a reply needs (so a worker can answer later, after forwarding). */
export type RequestRef = Pick<Envelope, 'id' | 'from'>;

function isErrorPayload(value: unknown): value is ErrorPayload {
  return !(value instanceof Error) && typeof value === 'object' && value !== null && typeof (value as ErrorPayload).name === 'string' && typeof (value as ErrorPayload).message === 'string';
}

export class WorkerMail {
  constructor(
    private readonly io: ActorIO,
    readonly strict: boolean,
  ) {}

  get self(): string {
    return this.io.id;
  }

  send(to: string, type: string, payload: unknown): string {
    const out = prepareOutgoing(type, payload, this.strict);
    return this.io.send(to, type, out.payload, { bytes: out.bytes, digest: out.digest });
  }

  reply(request: RequestRef, payload: ReplyPayload): string {
    const out = prepareOutgoing('reply', payload, this.strict);
    return this.io.reply(request as Envelope, 'reply', out.payload, { bytes: out.bytes, digest: out.digest });
  }

  /**
   * Error answer, from a thrown error or a stored one (an ErrorPayload). Never answers
   * an answer: that could make two workers bounce errors forever.
   */
  fail(request: RequestRef & { type?: string; inReplyTo?: string }, error: unknown): void {
    if (request.type === ERROR_REPLY || request.type === 'reply' || request.inReplyTo !== undefined) return;
    const payload = isErrorPayload(error) ? error : toErrorPayload(error);
    const out = prepareOutgoing(ERROR_REPLY, payload, this.strict);
    this.io.reply(request as Envelope, ERROR_REPLY, out.payload, { bytes: out.bytes });
  }
}
