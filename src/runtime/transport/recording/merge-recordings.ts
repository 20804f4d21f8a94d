/**
 * One fedsim event log from the recordings of a live run's processes.
 *
 * Each process recorded what it sent and received, in its own order, on the run's real
 * clock (ms since the run began). Messages carry causal ids — the sender, its per-sender
 * sequence (`msg` = `sender:n`) and the id of the message whose handling sent it
 * (`cause`) — so the merge can respect causality: a message's delivery (or its refusal)
 * comes after its `sent` (a fault's copy after its `duplicated`), whatever the clocks say.
 * Among the events that may come next, the earliest goes first (ties by process order).
 * The result is a log in the simulator's format — contiguous seq, non-decreasing time —
 * each event naming the process that recorded it (`host`). An event whose time had to be
 * lifted (its process's clock was behind the event it follows) keeps the time its process
 * read as `localT`.
 */
import type { LogHeader } from '../../event-log.js';

export interface ProcessRecording {
  /** The process's name (`driver`, `worker-1234@lab`). */
  host: string;
  /** Its event lines, in the order it recorded them. */
  lines: string[];
}

interface Recorded {
  seq: number;
  t: number;
  ev: string;
  msg?: string;
  copy?: number;
  [key: string]: unknown;
}

/** The key of the send a receiver-side event depends on. */
const sendKey = (event: Recorded) => (event.ev === 'duplicated' || event.copy === 1 ? `${event.msg}#copy` : `${event.msg}`);
const isSend = (event: Recorded) => event.ev === 'sent' || event.ev === 'duplicated';
/**
 * A live time as recordings keep it: whole microseconds. The live clock reads it too
 * (simulation.ts), so what an actor computed from the clock live is what the replay of the
 * recording computes from the recorded times (replay/causal-replay.ts).
 */
export const recordedTime = (t: number) => Math.round(t * 1000) / 1000;

const isReceipt = (event: Recorded) => event.ev === 'delivered' || (event.ev === 'dropped' && event.reason !== 'fault');

export function mergeRecordings(header: LogHeader, recordings: ProcessRecording[]): string {
  const streams = recordings.map((r) => ({ host: r.host, events: r.lines.map((line) => JSON.parse(line) as Recorded), next: 0 }));
  const sends = new Set<string>();
  for (const stream of streams) for (const event of stream.events) if (isSend(event)) sends.add(sendKey(event));
  const emitted = new Set<string>();
  const ready = (event: Recorded) => !(isReceipt(event) && event.msg !== undefined && sends.has(sendKey(event)) && !emitted.has(sendKey(event)));

  let text = JSON.stringify(header) + '\n';
  let seq = 0;
  let lastT = 0;
  for (;;) {
    let best = -1;
    let fallback = -1;
    streams.forEach((stream, i) => {
      const event = stream.events[stream.next];
      if (event === undefined) return;
      if (fallback < 0 || event.t < streams[fallback].events[streams[fallback].next].t) fallback = i;
      if (ready(event) && (best < 0 || event.t < streams[best].events[streams[best].next].t)) best = i;
    });
    if (fallback < 0) break;
    // (No head ready would mean a receipt whose send comes later in its own stream: impossible in a
    // real recording; the earliest event goes, rather than looping.)
    const stream = streams[best >= 0 ? best : fallback];
    const event = stream.events[stream.next++];
    if (isSend(event)) emitted.add(sendKey(event));
    const t = recordedTime(event.t);
    lastT = Math.max(lastT, t);
    // Lifted to keep time non-decreasing (another process's clock ran ahead): what this process's clock read is kept,
    // for the replay's clock to read it too (replay/causal-replay.ts).
    text += JSON.stringify({ ...event, seq: seq++, t: lastT, ...(t < lastT ? { localT: t } : {}), host: stream.host }) + '\n';
  }
  return text;
}
