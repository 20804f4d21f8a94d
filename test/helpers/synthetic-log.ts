/**
 * A large event log made without running anything: message k is `sent` at seq 2k and
 * delivered (every 97th: dropped) at seq 2k+1, at virtual time k, between 12 actors, of
 * three types. Event seq's content is a function of seq, so a test can tell what the
 * viewer must show at any row. Written in 64 KiB chunks: a million events never make one
 * string.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { FEDSIM_VERSION } from '../../src/version.js';

export const SYNTHETIC_ACTORS = 12;
const TYPES = ['ping', 'pong', 'update'];

export interface SyntheticEvent {
  seq: number;
  ev: 'sent' | 'delivered' | 'dropped';
  msg: string;
  from: string;
  to: string;
  type: string;
  t: number;
}

export function syntheticEvent(seq: number): SyntheticEvent {
  const k = seq >> 1;
  const from = `a${k % SYNTHETIC_ACTORS}`;
  const to = `a${(k * 5 + 1) % SYNTHETIC_ACTORS}`;
  const ev = seq % 2 === 0 ? 'sent' : k % 97 === 0 ? 'dropped' : 'delivered';
  return { seq, ev, msg: `${from}:${k}`, from, to, type: TYPES[k % 3], t: k };
}

/** The viewer's one-line description of the event (its row text). */
export function syntheticRowText(seq: number): string {
  const e = syntheticEvent(seq);
  return `${e.ev} ${e.type} ${e.from}\u2192${e.to}${e.ev === 'dropped' ? ' (fault)' : ''}`;
}

function line(seq: number): string {
  const e = syntheticEvent(seq);
  const digest = (e.seq >> 1).toString(16).padStart(16, '0');
  let text = `{"seq":${seq},"t":${e.t},"ev":"${e.ev}","msg":"${e.msg}","from":"${e.from}","to":"${e.to}","type":"${e.type}","digest":"${digest}","cause":null`;
  if (e.ev === 'sent') text += `,"deliverAt":${e.t + 1},"bytes":${64 + (seq % 7)}`;
  if (e.ev === 'dropped') text += ',"reason":"fault"';
  return text + '}\n';
}

export function writeSyntheticLog(path: string, events: number): void {
  const header = { kind: 'fedsim-log', format: 1, fedsim: FEDSIM_VERSION, seed: 1, strategy: 'fifo-random', faults: {}, backend: 'none', latency: 1 };
  const fd = openSync(path, 'w');
  try {
    let pending = JSON.stringify(header) + '\n';
    for (let seq = 0; seq < events; seq++) {
      pending += line(seq);
      if (pending.length > 1 << 16) {
        writeSync(fd, pending);
        pending = '';
      }
    }
    writeSync(fd, pending);
  } finally {
    closeSync(fd);
  }
}
