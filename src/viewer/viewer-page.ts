/**
 * The viewer page: one self-contained HTML document (no network: its style, code and
 * data are all inline) written as a sequence of strings, so a page for a million events
 * is streamed to its file rather than built as one string.
 */
import { esc } from '../cli/report/svg.js';
import { LOAD_DATA } from './client/load-data.js';
import { EVENT_TEXT } from './client/event-text.js';
import { DRAW_LANES } from './client/draw-lanes.js';
import { LANE_LAYOUT } from './client/lane-layout.js';
import { VIEWER_APP } from './client/viewer-app.js';
import { type PageInputs, pageDataBlocks } from './page-data.js';

const STYLE = `
* { box-sizing: border-box; }
html, body { margin: 0; height: 100%; font: 13px system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328; background: #fff; }
body { display: grid; grid-template-rows: auto auto 1fr auto; grid-template-columns: 1fr 460px; height: 100vh; }
header { grid-column: 1 / 3; display: flex; flex-wrap: wrap; gap: 8px; align-items: center; padding: 6px 10px; border-bottom: 1px solid #d0d7de; background: #f6f8fa; }
header h1 { font-size: 15px; margin: 0 10px 0 0; }
header input, header select, header button { font: inherit; padding: 2px 6px; }
#search { width: 200px; } #goto-time { width: 90px; }
#search-status { color: #57606a; min-width: 80px; }
#notices { grid-column: 1 / 3; grid-row: 2; }
#divergence { padding: 6px 10px; background: #ffebe9; border-bottom: 1px solid #ff8182; }
#skipped { padding: 4px 10px; background: #fff1e5; border-bottom: 1px solid #e8871e; }
#skipped button { font: inherit; margin-left: 4px; }
#divergence[hidden], #skipped[hidden] { display: none; }
.legend { white-space: nowrap; }
#lanes-pane { grid-column: 1; grid-row: 3; display: flex; flex-direction: column; min-height: 0; min-width: 0; }
#lane-names { position: relative; height: 22px; border-bottom: 1px solid #d0d7de; overflow: hidden; flex: none; }
#lane-names-clip { position: absolute; top: 0; bottom: 0; overflow: hidden; }
.lane-name { position: absolute; top: 3px; text-align: center; font-weight: 600; font-size: 12px; overflow: hidden; white-space: nowrap; text-overflow: ellipsis; }
#scroller { flex: 1; overflow: auto; position: relative; min-height: 0; }
#viewport { position: sticky; top: 0; left: 0; display: flex; }
#rows { position: relative; width: 420px; flex: none; overflow: hidden; font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; }
.row { position: absolute; left: 0; right: 0; height: 18px; line-height: 18px; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; cursor: pointer; padding-left: 4px; }
.row:hover { background: #f3f4f6; }
.row.selected { background: #fff3c4; }
.row.diverges { box-shadow: inset 3px 0 #d62728; }
.row .seq { display: inline-block; width: 60px; color: #57606a; text-align: right; margin-right: 8px; }
.row .t { display: inline-block; width: 70px; color: #57606a; margin-right: 6px; }
.kind-dropped .what, .kind-error .what, .kind-crashed .what { color: #cf222e; font-weight: 600; }
.kind-delayed .what, .kind-reordered .what, .kind-duplicated .what { color: #9a6700; }
#lanes { flex: none; cursor: pointer; }
#panel { grid-column: 2; grid-row: 3; overflow: auto; border-left: 1px solid #d0d7de; padding: 0 12px 12px; min-height: 0; }
#panel h2 { font-size: 13px; text-transform: uppercase; letter-spacing: .04em; color: #57606a; margin: 14px 0 4px; }
#event h3 { font-size: 14px; margin: 4px 0; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 10px; margin: 6px 0; }
dt { color: #57606a; } dd { margin: 0; word-break: break-word; }
#event-line { display: block; font-size: 11px; background: #f6f8fa; padding: 4px; word-break: break-all; }
.note { color: #57606a; margin: 4px 0; }
.actor-state pre { margin: 4px 0; padding: 4px; background: #f6f8fa; font-size: 11px; white-space: pre-wrap; word-break: break-word; }
footer { grid-column: 1 / 3; grid-row: 4; padding: 3px 10px; border-top: 1px solid #d0d7de; color: #57606a; background: #f6f8fa; font-size: 12px; }
kbd { font: 11px ui-monospace, monospace; border: 1px solid #d0d7de; border-radius: 3px; padding: 0 3px; background: #fff; }
`;

const LEGEND =
  'arrows: colour = message type · <b>◇</b> delayed · <b>↺</b> reordered · <b style="color:#d62728">✕</b> dropped · dashed: fault-plan copy · dotted grey: never delivered · ' +
  '<b style="color:#d62728">▬</b> crashed · <b style="color:#2ca02c">▬</b> restarted · <b style="color:#d62728">●</b> handler error · ◯ timer · purple rule: partition · orange rule: skipped round';
const KEYS = '<kbd>↓</kbd>/<kbd>j</kbd> next · <kbd>↑</kbd>/<kbd>k</kbd> previous · <kbd>/</kbd> search, <kbd>n</kbd>/<kbd>N</kbd> next/previous match · <kbd>m</kbd> other end of the message · <kbd>c</kbd> cause · <kbd>t</kbd> go to time · <kbd>d</kbd> divergence';

/** The page, in order: the shell, the data blocks, the code. */
export function* viewerPage(inputs: PageInputs): Generator<string> {
  yield `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; connect-src 'self'">
<title>fedsim view: ${esc(inputs.name)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>fedsim view: <span id="title">${esc(inputs.name)}</span></h1>
<button id="prev" title="previous event (↑ or k)">◀ prev</button><button id="next" title="next event (↓ or j)">next ▶</button>
<label>actor <select id="actor-filter"><option value="">all actors</option></select></label>
<label>type <select id="type-filter"><option value="">all types</option></select></label>
<input id="search" type="text" role="searchbox" placeholder="search: id, type, actor, #seq" title="Enter: next match, Shift+Enter: previous">
<span id="search-status"></span>
<label>t= <input id="goto-time" type="text" inputmode="decimal" placeholder="ms" title="go to the first event at or after this virtual time (Enter)"></label>
</header>
<div id="notices"><div id="divergence" hidden><span id="divergence-text"></span> <button id="goto-divergence">go to the divergence (d)</button></div><div id="skipped" hidden></div></div>
<main id="lanes-pane">
<div id="lane-names"></div>
<div id="scroller"><div id="viewport"><div id="rows"></div><canvas id="lanes"></canvas></div><div id="spacer"></div></div>
</main>
<aside id="panel">
<h2>Event</h2><div id="event"><p class="note">Click an event (a row or the lanes).</p></div>
<h2>Actors at this event</h2><div id="states"></div>
</aside>
<footer><span id="status">loading…</span> · <span class="legend">${LEGEND}</span> · ${KEYS}</footer>
`;
  yield* pageDataBlocks(inputs);
  yield `<script>\n(function () {\n'use strict';\n${LOAD_DATA}\n${EVENT_TEXT}\n${LANE_LAYOUT}\n${DRAW_LANES}\n${VIEWER_APP}\n})();\n</script>\n</body>\n</html>\n`;
}
