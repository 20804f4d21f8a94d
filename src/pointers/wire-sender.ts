/**
 * The one send path of the pointer layer: every message `me` sends goes through here,
 * whatever carries it (the simulator's scheduler or a live transport).
 *
 * It prepares the payload for the wire — refuses nesting deeper than workers accept,
 * computes the would-be size for the link metrics and an eager digest when it carries
 * tensors (they may be disposed before the log is written), and in strict mode really
 * encodes and decodes it — and then hands it to the Host. It holds the host by
 * composition: nothing here knows whether the run is simulated or live.
 */
import { type Envelope, FedsimError, type Reply } from '../runtime/index.js';
import type { Host } from '../runtime/transport/host.js';
import { claimDelivery, MAX_PAYLOAD_DEPTH, prepareOutgoing, type ReplyPayload, tooDeep } from '../messages/index.js';

export class WireSender {
  constructor(
    private readonly host: Host,
    /** Receivers recognise duplicate deliveries only when the fault plan makes them. */
    private readonly dedup: boolean,
  ) {}

  /** One-way message from `me`, prepared for the wire. */
  tell(to: string, type: string, payload: unknown): string {
    this.checkDepth(type, payload);
    const out = prepareOutgoing(type, payload, this.host.strict);
    return this.host.send(to, type, out.payload, { bytes: out.bytes, digest: out.digest });
  }

  /** Request from `me`, prepared for the wire; awaiting the reply makes the run progress until it arrives. */
  ask(to: string, type: string, payload: unknown): Reply<ReplyPayload> {
    this.checkDepth(type, payload);
    const out = prepareOutgoing(type, payload, this.host.strict);
    return this.host.request<ReplyPayload>(to, type, out.payload, {
      bytes: out.bytes,
      digest: out.digest,
      // Claim the reply on delivery, so a duplicate delivered later is recognised as such.
      unwrap: (envelope: Envelope) => {
        if (this.dedup) claimDelivery(envelope);
        return envelope.payload as ReplyPayload;
      },
    });
  }

  /** Refuses a payload nested deeper than workers accept, before anything walks it recursively. */
  private checkDepth(type: string, payload: unknown): void {
    if (tooDeep(payload)) {
      throw new FedsimError(
        `${type}: the payload nests deeper than ${MAX_PAYLOAD_DEPTH} levels of arrays and objects; fedsim refuses it rather than risk a stack overflow ` +
          '(no tensor has more than 16 dimensions). Pass deep data as a tensor (send it), not as a nested literal.',
      );
    }
  }
}
