/**
 * The data of a viewer page, as the blocks that go into its HTML: one JSON block of
 * metadata, the strings and extras as JSON arrays in chunks, and the event and message
 * columns as base64 of their little-endian bytes, in chunks of CHUNK_ROWS rows. The page
 * decodes them block by block (and drops each block once read), so a log of a million
 * events is never one giant string or one giant parse. Nothing here reads a clock: the
 * same inputs give the same bytes.
 */
import { EVENT_KINDS, MESSAGE_KIND_COUNT, type ViewerModel } from './log-model.js';
import type { StateTimeline } from './state-capture.js';
import type { RunDivergence } from './run-divergence.js';

/** Rows (events or messages) per binary block. */
export const CHUNK_ROWS = 1 << 16;
/** Strings or extras per JSON block. */
const CHUNK_ITEMS = 1 << 15;

export interface SkippedRoundMark {
  round: number;
  reason: string;
  /** Virtual time the round ended (where it is marked). */
  t: number;
}

export interface PageInputs {
  model: ViewerModel;
  /** How the run is named on the page (its directory or log, as given). */
  name: string;
  states: (StateTimeline & { every: number }) | null;
  /** Why there are no states (shown on the page), when `states` is null. */
  noStatesReason?: string;
  divergence: RunDivergence | null;
  skipped: SkippedRoundMark[];
  /** The page is served by `fedsim view --serve`, which answers exact state queries. */
  serve: boolean;
}

/** JSON that is safe inside a <script> element: `<` only ever appears escaped. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

const bytesOf = (array: Float64Array | Int32Array | Uint8Array) => Buffer.from(array.buffer, array.byteOffset, array.byteLength);

/** The page's data blocks, in order. */
export function* pageDataBlocks(inputs: PageInputs): Generator<string> {
  const { model } = inputs;
  // Payload summaries join the string table, so a message refers to its summary by index.
  const strings = model.strings.slice();
  const payload = new Int32Array(model.messages).fill(-1);
  if (inputs.states) {
    const index = new Map<string, number>();
    for (let m = 0; m < model.messages; m++) {
      const key = model.strings[model.msg.id[m]] + (model.msg.copy[m] ? '\u0000copy' : '');
      const summary = inputs.states.payloads.get(key);
      if (summary === undefined) continue;
      let i = index.get(summary);
      if (i === undefined) {
        i = strings.push(summary) - 1;
        index.set(summary, i);
      }
      payload[m] = i;
    }
  }
  const states = inputs.states && {
    every: inputs.states.every,
    actors: inputs.states.actors,
    texts: inputs.states.texts,
    from: inputs.states.from,
    to: inputs.states.to,
    changes: inputs.states.changes,
  };
  const meta = {
    format: 1,
    name: inputs.name,
    headerLine: model.headerLine,
    events: model.events,
    messages: model.messages,
    actors: model.actors,
    types: model.types,
    kinds: EVENT_KINDS,
    messageKinds: MESSAGE_KIND_COUNT,
    states,
    noStatesReason: inputs.noStatesReason ?? null,
    divergence: inputs.divergence,
    skipped: inputs.skipped,
    serve: inputs.serve,
  };
  yield `<script type="application/json" id="fedsim-meta">${scriptJson(meta)}</script>\n`;
  for (let i = 0; i < strings.length; i += CHUNK_ITEMS) yield `<script type="application/json" class="fedsim-strings">${scriptJson(strings.slice(i, i + CHUNK_ITEMS))}</script>\n`;
  for (let i = 0; i < model.extras.length; i += CHUNK_ITEMS) yield `<script type="application/json" class="fedsim-extras">${scriptJson(model.extras.slice(i, i + CHUNK_ITEMS))}</script>\n`;
  const ev = model.ev;
  for (let first = 0; first < model.events; first += CHUNK_ROWS) {
    const end = Math.min(model.events, first + CHUNK_ROWS);
    // Widest first, so every column starts aligned for its typed array in the page.
    const bytes = Buffer.concat([ev.t.subarray(first, end), ev.ref.subarray(first, end), ev.extra.subarray(first, end), ev.kind.subarray(first, end)].map(bytesOf));
    yield `<script type="application/octet-stream" class="fedsim-events" data-first="${first}" data-count="${end - first}">${bytes.toString('base64')}</script>\n`;
  }
  const m = model.msg;
  for (let first = 0; first < model.messages; first += CHUNK_ROWS) {
    const end = Math.min(model.messages, first + CHUNK_ROWS);
    const columns = [m.deliverAt, m.bytes, m.id, m.digest, m.cause, m.re, m.from, m.to, m.type, m.sent, m.end, payload, m.copy];
    const bytes = Buffer.concat(columns.map((c) => bytesOf(c.subarray(first, end))));
    yield `<script type="application/octet-stream" class="fedsim-messages" data-first="${first}" data-count="${end - first}">${bytes.toString('base64')}</script>\n`;
  }
}
