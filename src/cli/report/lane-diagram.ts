/**
 * The lane diagram: a sequence diagram of the start of a run, as inline SVG.
 *
 * One vertical lane per actor; time flows down, one row per event (rows, not
 * virtual ms, so that many events at one instant stay readable — the left margin
 * shows virtual time where it changes). A message is an arrow from its `sent` row
 * on the sender's lane to its `delivered` row on the receiver's, coloured by type.
 * Dropped messages end in a red cross; duplicated copies are dashed; delayed ones
 * start with a hollow diamond; messages still in flight at the window's end run
 * off the bottom. Timers, handler errors, crashes, partitions and marks are drawn
 * on the lanes.
 */
import type { RecordedEvent } from '../../runtime/index.js';
import { PALETTE, esc, fmt } from './svg.js';

/** A parsed log line: the diagram reads the same fields `fedsim replay` does. */
export type LaneEvent = RecordedEvent & { groups?: string[][]; label?: string; message?: string; error?: string };

export interface LaneDiagramOptions {
  /** Events shown (default 200). */
  limit?: number;
  /** Total events in the run, to say how many are not shown. */
  total?: number;
  /** Listed first (the driver). */
  driver?: string;
}

const ROW = 13;
const LANE = 130;
const LEFT = 70;

export function renderLaneDiagram(all: readonly LaneEvent[], options: LaneDiagramOptions = {}): string {
  const events = all.slice(0, options.limit ?? 200);
  const actors = actorOrder(events, options.driver ?? 'me');
  const types = [...new Set(events.filter((e) => e.ev === 'sent').map((e) => e.type ?? '?'))];
  const colour = (type: string | undefined) => PALETTE[Math.max(0, types.indexOf(type ?? '?')) % PALETTE.length];
  const legendRows = Math.ceil((types.length + 4) / 4);
  const top = 30 + legendRows * 16 + 24;
  const width = LEFT + Math.max(1, actors.length) * LANE + 20;
  const height = top + events.length * ROW + 30;
  const laneX = (actor: string | null | undefined) => LEFT + LANE / 2 + Math.max(0, actors.indexOf(actor ?? '')) * LANE;
  const rowY = (index: number) => top + index * ROW + ROW / 2;
  const bottom = top + events.length * ROW;

  const parts: string[] = [];
  parts.push(`<svg class="lanes" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="lane diagram of the first ${events.length} events">`);
  parts.push('<defs>');
  PALETTE.forEach((c, i) => parts.push(`<marker id="arrow-${i}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="${c}"/></marker>`));
  parts.push('</defs>');
  parts.push(renderLegend(types, colour));

  // Lanes and their names.
  actors.forEach((actor) => {
    const x = laneX(actor);
    parts.push(`<text x="${x}" y="${top - 8}" text-anchor="middle" class="lane-name">${esc(actor)}</text>`);
    parts.push(`<line x1="${x}" x2="${x}" y1="${top - 2}" y2="${bottom}" class="lane"/>`);
  });

  // Virtual time, where it changes.
  let lastT = -1;
  events.forEach((e, i) => {
    if (e.t === lastT) return;
    lastT = e.t;
    parts.push(`<text x="${LEFT - 8}" y="${rowY(i)}" text-anchor="end" dominant-baseline="middle" class="tick">t=${fmt(e.t)}</text>`);
    parts.push(`<line x1="${LEFT - 4}" x2="${width - 10}" y1="${rowY(i) - ROW / 2}" y2="${rowY(i) - ROW / 2}" class="time-rule"/>`);
  });

  const sentRow = new Map<string, number>();
  const delayed = new Set<string>();
  const ended = new Set<string>();
  events.forEach((e, i) => {
    const y = rowY(i);
    switch (e.ev) {
      case 'sent':
        sentRow.set(e.msg!, i);
        break;
      case 'delayed':
        delayed.add(e.msg!);
        break;
      case 'delivered':
      case 'dropped': {
        if (!e.msg) break;
        const from = sentRow.get(e.msg);
        const y0 = from === undefined ? top : rowY(from);
        parts.push(arrow(e, laneX(e.from), y0, laneX(e.to), y, colour(e.type), e.ev === 'dropped', delayed.has(e.msg)));
        if (!e.copy) ended.add(e.msg);
        break;
      }
      case 'timer':
        if (e.actor) parts.push(`<circle cx="${laneX(e.actor)}" cy="${y}" r="3.5" class="timer"><title>seq ${e.seq} t=${fmt(e.t)}: timer fired on ${esc(e.actor)}</title></circle>`);
        break;
      case 'error':
        parts.push(`<circle cx="${laneX(e.actor)}" cy="${y}" r="4.5" class="error"><title>seq ${e.seq}: ${esc(e.actor)} failed handling ${esc(e.msg ?? '')}: ${esc(e.error)}: ${esc(e.message)}</title></circle>`);
        break;
      case 'crashed':
      case 'restarted': {
        const x = laneX(e.actor);
        parts.push(`<line x1="${x - 14}" x2="${x + 14}" y1="${y}" y2="${y}" class="${e.ev}"><title>seq ${e.seq}: ${esc(e.actor)} ${e.ev}</title></line>`);
        parts.push(`<text x="${x + 17}" y="${y}" dominant-baseline="middle" class="note ${e.ev}-text">${e.ev}</text>`);
        break;
      }
      case 'mark':
      case 'partition-start':
      case 'partition-end': {
        const text = e.ev === 'mark' ? e.label ?? '' : `${e.ev}: ${(e.groups ?? []).map((g) => g.join(',')).join(' | ')}`;
        parts.push(`<line x1="${LEFT}" x2="${width - 10}" y1="${y}" y2="${y}" class="${e.ev === 'mark' ? 'mark' : 'partition'}"/>`);
        parts.push(`<text x="${LEFT + 4}" y="${y - 2}" class="note">${esc(text)}</text>`);
        break;
      }
    }
  });
  // Messages the window does not see arrive: they run off the bottom.
  for (const [msg, i] of sentRow) {
    if (ended.has(msg)) continue;
    const e = events[i];
    parts.push(`<line x1="${laneX(e.from)}" y1="${rowY(i)}" x2="${laneX(e.to)}" y2="${bottom + 12}" stroke="${colour(e.type)}" class="pending"><title>${esc(msg)} ${esc(e.type)} ${esc(e.from)}→${esc(e.to)}: not delivered within the events shown</title></line>`);
  }
  const shown = options.total !== undefined && options.total > events.length ? `first ${events.length} of ${options.total} events` : `${events.length} events`;
  parts.push(`<text x="${LEFT}" y="${height - 8}" class="muted">${shown}</text>`);
  parts.push('</svg>');
  return parts.join('');
}

function arrow(e: LaneEvent, x0: number, y0: number, x1: number, y1: number, stroke: string, dropped: boolean, delayed: boolean): string {
  const index = PALETTE.indexOf(stroke);
  const title = `<title>seq ${e.seq} t=${fmt(e.t)}: ${esc(e.msg)} ${esc(e.type)} ${esc(e.from)}→${esc(e.to)} ${dropped ? `DROPPED (${esc(e.reason)})` : 'delivered'}${e.copy ? ' (duplicate copy)' : ''}${delayed ? ' (delayed)' : ''}</title>`;
  const dash = e.copy ? ' stroke-dasharray="3,3"' : dropped ? ' stroke-dasharray="6,3"' : '';
  const parts: string[] = [];
  if (x0 === x1) {
    // A message to oneself: a small loop on the lane.
    parts.push(`<path d="M${x0},${y0} C${x0 + 30},${y0} ${x1 + 30},${y1} ${x1 + 2},${y1}" fill="none" stroke="${stroke}" stroke-width="1.5"${dash} marker-end="url(#arrow-${index})">${title}</path>`);
  } else if (dropped) {
    // Stop short of the receiver: the message never got there.
    const xEnd = x0 + (x1 - x0) * 0.85;
    parts.push(`<line x1="${x0}" y1="${y0}" x2="${xEnd}" y2="${y1}" stroke="${stroke}" stroke-width="1.5"${dash}>${title}</line>`);
    parts.push(`<path d="M${xEnd - 4},${y1 - 4} L${xEnd + 4},${y1 + 4} M${xEnd - 4},${y1 + 4} L${xEnd + 4},${y1 - 4}" class="drop-cross">${title}</path>`);
  } else {
    parts.push(`<line x1="${x0}" y1="${y0}" x2="${x1}" y2="${y1}" stroke="${stroke}" stroke-width="1.5"${dash} marker-end="url(#arrow-${index})">${title}</line>`);
  }
  if (delayed) parts.push(`<path d="M${x0},${y0 - 4} L${x0 + 4},${y0} L${x0},${y0 + 4} L${x0 - 4},${y0} z" class="delay-mark">${title}</path>`);
  return parts.join('');
}

function renderLegend(types: string[], colour: (type: string) => string): string {
  const items: Array<[string, string]> = types.map((t) => [t, `<line x1="0" y1="0" x2="18" y2="0" stroke="${colour(t)}" stroke-width="2"/>`]);
  items.push(['dropped', '<path d="M5,-4 L13,4 M5,4 L13,-4" class="drop-cross"/>']);
  items.push(['duplicate copy', '<line x1="0" y1="0" x2="18" y2="0" stroke="#555" stroke-width="1.5" stroke-dasharray="3,3"/>']);
  items.push(['delayed', '<path d="M5,-4 L9,0 L5,4 L1,0 z" class="delay-mark"/>']);
  items.push(['timer / error', '<circle cx="4" cy="0" r="3.5" class="timer"/><circle cx="14" cy="0" r="4" class="error"/>']);
  return items
    .map(([label, glyph], i) => {
      const x = LEFT + (i % 4) * 170;
      const y = 16 + Math.floor(i / 4) * 16;
      return `<g transform="translate(${x} ${y})">${glyph}<text x="24" y="0" dominant-baseline="middle" class="legend">${esc(label)}</text></g>`;
    })
    .join('');
}

/** The driver first, then actors in the order they appear. */
function actorOrder(events: readonly LaneEvent[], driver: string): string[] {
  const order: string[] = [];
  const add = (id: string | null | undefined) => {
    if (id && !order.includes(id)) order.push(id);
  };
  if (events.some((e) => e.from === driver || e.to === driver)) add(driver);
  for (const e of events) {
    if (e.ev === 'spawned') add(e.actor);
    add(e.from);
    add(e.to);
    if (e.ev !== 'mark') add(e.actor);
  }
  return order;
}
