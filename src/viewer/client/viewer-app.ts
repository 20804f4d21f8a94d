/**
 * Browser code: the viewer's interaction — the scrolled window of rows (a pool of row
 * elements the size of the view, whatever the log's length), selection, the message and
 * state panels, stepping, filters, search, going to a time or to the divergence, keys.
 *
 * The scroll area's height is capped (browsers cap an element's height), so a scroll
 * position maps to a first row by proportion, exactly one row per ROW pixels when the
 * log is short enough.
 *
 * Lanes are at least MIN_LANE px wide, so that an actor's name and its glyphs stay
 * readable with dozens of actors; lanes that do not fit scroll sideways (the row list
 * stays put). A filter shows only the lanes its rows touch (lane-layout).
 */
export const VIEWER_APP = String.raw`
var ROW = 18, LIST_W = 420, MIN_LANE = 72, MAX_LANE = 170, MAX_SCROLL_PX = 8000000;
/** x: how far the lanes are scrolled sideways, px. */
var view = { first: 0, count: 1, rows: N, maxFirst: 0, spacer: 0, x: 0 };
var rowsFiltered = null;
var selected = -1;
var expectedScrollTop = -1;
var $ = function (id) { return document.getElementById(id); };
var scroller = $('scroller'), spacer = $('spacer'), canvas = $('lanes'), rowList = $('rows'), laneNames = $('lane-names');
var rowPool = [];
var canvasWidth = 0, laneW = MAX_LANE;

function rowSeq(r) { return rowsFiltered ? rowsFiltered[r] : r; }
/** The row of seq, or of the first event after it when a filter hides it. */
function rowOfSeq(seq) {
  if (!rowsFiltered) return seq;
  var lo = 0, hi = rowsFiltered.length;
  while (lo < hi) { var mid = (lo + hi) >> 1; if (rowsFiltered[mid] < seq) lo = mid + 1; else hi = mid; }
  return lo;
}
/** The first row at or after virtual time t (the log is in time order). */
function rowOfTime(t) {
  var lo = 0, hi = view.rows;
  while (lo < hi) { var mid = (lo + hi) >> 1; if (T[rowSeq(mid)] < t) lo = mid + 1; else hi = mid; }
  return Math.min(lo, Math.max(0, view.rows - 1));
}
/** The x of actor a's lane on the canvas (NaN when its lane is not shown). */
function laneX(a) { var lane = laneOf[a]; return lane >= 0 ? laneW * (lane + 0.5) - view.x : NaN; }

function layout() {
  var h = scroller.clientHeight, w = scroller.clientWidth;
  view.count = Math.max(1, Math.ceil(h / ROW));
  view.maxFirst = Math.max(0, view.rows - view.count + 1);
  view.spacer = Math.min(view.maxFirst * ROW, MAX_SCROLL_PX);
  spacer.style.height = (view.spacer + h) + 'px';
  canvasWidth = Math.max(100, w - LIST_W);
  laneW = Math.max(MIN_LANE, Math.min(MAX_LANE, canvasWidth / Math.max(1, laneActors.length)));
  // Lanes wider than the canvas scroll sideways: the spacer gives the scroller their width.
  var lanesWidth = laneW * laneActors.length;
  spacer.style.width = (LIST_W + Math.max(canvasWidth, lanesWidth)) + 'px';
  view.x = Math.min(scroller.scrollLeft, Math.max(0, lanesWidth - canvasWidth));
  var dpr = window.devicePixelRatio || 1;
  canvas.width = Math.round(canvasWidth * dpr); canvas.height = Math.round(h * dpr);
  canvas.style.width = canvasWidth + 'px'; canvas.style.height = h + 'px';
  $('viewport').style.height = h + 'px'; $('viewport').style.marginBottom = -h + 'px'; $('viewport').style.width = w + 'px';
  while (rowPool.length < view.count) { var div = document.createElement('div'); div.className = 'row'; rowList.appendChild(div); rowPool.push(div); }
  while (rowPool.length > view.count) rowList.removeChild(rowPool.pop());
  laneNames.textContent = '';
  laneNamesClip = document.createElement('div'); laneNamesClip.id = 'lane-names-clip';
  laneNamesClip.style.left = LIST_W + 'px'; laneNamesClip.style.width = canvasWidth + 'px';
  laneNames.appendChild(laneNamesClip);
  laneActors.forEach(function (a) {
    var span = document.createElement('span'); span.className = 'lane-name'; span.textContent = meta.actors[a]; span.title = meta.actors[a];
    span.dataset.actor = meta.actors[a]; span.style.width = laneW + 'px';
    laneNamesClip.appendChild(span);
  });
  placeLaneNames();
}
var laneNamesClip = null;
/** The lane names follow the lanes' sideways scroll. */
function placeLaneNames() {
  if (!laneNamesClip) return;
  var spans = laneNamesClip.children;
  for (var i = 0; i < spans.length; i++) spans[i].style.left = (laneX(laneActors[i]) - laneW / 2) + 'px';
}
/** Scrolls the lanes sideways (at once) so that the lanes of actors (indexes; -1 ignored) are in view, the first if not all fit. */
function ensureLanesVisible(actors) {
  var lanes = actors.filter(function (a) { return a >= 0 && laneOf[a] >= 0; }).map(function (a) { return laneOf[a]; });
  if (!lanes.length) return;
  var lo = Math.min.apply(null, lanes) * laneW, hi = (Math.max.apply(null, lanes) + 1) * laneW;
  var x = view.x;
  if (hi - lo > canvasWidth) hi = lo + laneW;
  if (lo < x) x = lo; else if (hi > x + canvasWidth) x = hi - canvasWidth;
  if (x !== view.x) { view.x = x; scroller.scrollLeft = x; }
}

function firstFromScroll() {
  if (view.spacer <= 0) return 0;
  return Math.min(view.maxFirst, Math.round(scroller.scrollTop / view.spacer * view.maxFirst));
}
function setFirst(first) {
  view.first = Math.max(0, Math.min(view.maxFirst, first));
  expectedScrollTop = view.maxFirst > 0 ? Math.round(view.first / view.maxFirst * view.spacer) : 0;
  scroller.scrollTop = expectedScrollTop;
  paint();
}
/** Moves the window (at once: what a key or click asks for is on screen when it returns) so that row is in it. */
function ensureVisible(row) {
  if (row < view.first) setFirst(row);
  else if (row > view.first + view.count - 3) setFirst(row - view.count + 3);
  else paint();
}

var pending = false;
/** Paints at the next frame (scrolling: many events, one paint). */
function render() {
  if (pending) return;
  pending = true;
  requestAnimationFrame(function () { pending = false; paint(); });
}
function paint() {
  var first = view.first;
  for (var i = 0; i < rowPool.length; i++) {
    var div = rowPool[i], r = first + i;
    if (r >= view.rows) { div.style.display = 'none'; div.dataset.seq = ''; continue; }
    var seq = rowSeq(r);
    div.style.display = ''; div.style.top = (i * ROW) + 'px'; div.dataset.seq = String(seq);
    div.className = 'row kind-' + KINDS[KIND[seq]] + (seq === selected ? ' selected' : '') + (meta.divergence && meta.divergence.seq === seq ? ' diverges' : '');
    div.textContent = '';
    appendSpan(div, 'seq', String(seq)); appendSpan(div, 't', fmtT(T[seq])); appendSpan(div, 'what', describeEvent(seq));
  }
  var ctx = canvas.getContext('2d');
  var dpr = window.devicePixelRatio || 1;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  drawLanes(ctx, canvasWidth, scroller.clientHeight);
  placeLaneNames();
  var last = Math.min(view.rows, first + view.count);
  var lanesShown = laneActors.length === meta.actors.length ? '' : ' (' + laneActors.length + ' lane' + (laneActors.length === 1 ? '' : 's') + ' shown)';
  $('status').textContent = N.toLocaleString('en-US') + ' events \u00b7 ' + M.toLocaleString('en-US') + ' messages \u00b7 ' + meta.actors.length + ' actors' + lanesShown + ' \u00b7 rows ' +
    (view.rows ? first + 1 : 0) + '\u2013' + last + ' of ' + view.rows.toLocaleString('en-US') + (rowsFiltered ? ' (filtered)' : '') +
    (view.rows ? ' \u00b7 t=' + fmtT(T[rowSeq(first)]) + '\u2026' + fmtT(T[rowSeq(last - 1)]) + ' ms' : '');
}
function appendSpan(parent, cls, text) { var s = document.createElement('span'); s.className = cls; s.textContent = text; parent.appendChild(s); }

// ---- Selection and the panels ----
function select(seq) {
  if (!(seq >= 0 && seq < N)) return;
  selected = seq;
  ensureLanesVisible(KIND[seq] < NK ? [M_FROM[REF[seq]], M_TO[REF[seq]]] : [REF[seq]]);
  ensureVisible(rowOfSeq(seq));
  showEvent(seq);
  showStates(seq);
  document.body.dataset.selected = String(seq);
}
function step(delta) {
  if (!view.rows) return;
  var row = selected < 0 ? (delta > 0 ? -1 : view.rows) : rowOfSeq(selected);
  if (selected >= 0 && rowSeq(Math.min(row, view.rows - 1)) !== selected && delta > 0) row -= 1;
  select(rowSeq(Math.max(0, Math.min(view.rows - 1, row + delta))));
}

function field(dl, label, value, goTo) {
  var dt = document.createElement('dt'); dt.textContent = label; dl.appendChild(dt);
  var dd = document.createElement('dd'); dd.dataset.field = label;
  if (goTo !== undefined && goTo >= 0) { var a = document.createElement('a'); a.href = '#'; a.textContent = value; a.dataset.seq = String(goTo); dd.appendChild(a); }
  else dd.textContent = value;
  dl.appendChild(dd);
}
/** Where a cause came from: the delivery of the message with that id (or the timer's event). */
function causeSeq(m) {
  if (M_CAUSE[m] < 0) return -1;
  var cause = strings[M_CAUSE[m]];
  var sent = M_SENT[m] >= 0 ? M_SENT[m] : N;
  var timer = /^timer:(\d+)$/.exec(cause);
  for (var seq = sent - 1; seq >= 0 && seq >= sent - 200000; seq--) {
    if (timer) { if (KINDS[KIND[seq]] === 'timer') { var e = extraOf(seq); if (e && String(e.timer) === timer[1]) return seq; } continue; }
    if (KIND[seq] === K_DELIVERED && strings[M_ID[REF[seq]]] === cause) return seq;
  }
  return -1;
}
function showEvent(seq) {
  var panel = $('event'); panel.textContent = '';
  var h = document.createElement('h3'); h.textContent = 'seq ' + seq + ' \u00b7 t=' + fmtT(T[seq]) + ' ms \u00b7 ' + KINDS[KIND[seq]]; panel.appendChild(h);
  var dl = document.createElement('dl'); panel.appendChild(dl);
  if (KIND[seq] < NK) {
    var m = REF[seq], x = extraOf(seq) || {};
    field(dl, 'message', strings[M_ID[m]] + (M_COPY[m] ? ' (fault-plan copy)' : ''));
    field(dl, 'type', meta.types[M_TYPE[m]]);
    field(dl, 'from \u2192 to', actorName(M_FROM[m]) + ' \u2192 ' + actorName(M_TO[m]));
    field(dl, 'payload', M_PAYLOAD[m] >= 0 ? strings[M_PAYLOAD[m]] : '(not in the log: only its digest is; ' + (meta.states ? 'not captured' : 'states and payloads come from re-executing the run') + ')');
    field(dl, 'digest', strings[M_DIGEST[m]]);
    field(dl, 'bytes', isNaN(M_BYTES[m]) ? '(not recorded)' : String(M_BYTES[m]));
    var cs = causeSeq(m);
    field(dl, 'caused by', M_CAUSE[m] >= 0 ? strings[M_CAUSE[m]] + (cs >= 0 ? ' (seq ' + cs + ')' : '') : '(scenario code)', cs);
    if (M_RE[m] >= 0) field(dl, 'reply to', strings[M_RE[m]]);
    field(dl, 'sent', M_SENT[m] >= 0 ? 'seq ' + M_SENT[m] + ', t=' + fmtT(T[M_SENT[m]]) : '(not in the log)', M_SENT[m]);
    var end = M_END[m];
    field(dl, (M_FLAGS[m] & FLAG_DROPPED) ? 'dropped' : 'delivered', end >= 0 ? 'seq ' + end + ', t=' + fmtT(T[end]) + ((M_FLAGS[m] & FLAG_DROPPED) ? ' (' + ((extraOf(end) || {}).reason || '') + ')' : '') : 'still in flight at the end of the log (due t=' + fmtT(M_DELIVER_AT[m]) + ')', end);
    var faults = [];
    if (M_FLAGS[m] & FLAG_DELAYED) faults.push('delayed');
    if (M_FLAGS[m] & FLAG_REORDERED) faults.push('reordered');
    if (M_FLAGS[m] & FLAG_DROPPED) faults.push('dropped');
    if (M_COPY[m]) faults.push('duplicate copy');
    if (KINDS[KIND[seq]] === 'delayed') faults.push('by ' + x.by + ' ms');
    field(dl, 'faults', faults.length ? faults.join(', ') : 'none');
  } else {
    var e = extraOf(seq) || {};
    Object.keys(e).forEach(function (k) { field(dl, k, typeof e[k] === 'string' ? e[k] : JSON.stringify(e[k])); });
  }
  var line = document.createElement('code'); line.id = 'event-line'; line.textContent = recordedLine(seq); panel.appendChild(line);
}

function captureAt(seq) {
  var to = meta.states.to, lo = 0, hi = to.length;
  while (lo < hi) { var mid = (lo + hi) >> 1; if (to[mid] < seq) lo = mid + 1; else hi = mid; }
  return lo;
}
function textsAt(c) {
  var s = meta.states, out = [];
  s.actors.forEach(function (id, a) {
    var at = s.changes[a].at, lo = 0, hi = at.length;
    while (lo < hi) { var mid = (lo + hi) >> 1; if (at[mid] <= c) lo = mid + 1; else hi = mid; }
    var t = lo > 0 ? s.changes[a].text[lo - 1] : -1;
    if (t >= 0) out.push({ id: id, text: s.texts[t] });
  });
  return out;
}
function showStates(seq) {
  if (stateRequest) { stateRequest.abort(); stateRequest = null; }
  var panel = $('states'); panel.textContent = '';
  var note = document.createElement('p'); note.className = 'note'; panel.appendChild(note);
  if (!meta.states) { note.textContent = meta.noStatesReason || 'No actor states in this page.'; return; }
  var c = captureAt(seq);
  var exact = c < meta.states.to.length && meta.states.from[c] <= seq;
  if (exact) {
    note.dataset.exact = 'true';
    note.textContent = 'Every actor once the step that produced seq ' + seq + ' has run (what fedsim replay --until ' + seq + ' prints):';
    fillStates(panel, textsAt(c));
    return;
  }
  var before = c - 1;
  note.dataset.exact = 'false';
  note.textContent = 'This page kept states every ' + meta.states.every + ' events: shown is the state after seq ' + (before >= 0 ? meta.states.to[before] : '\u2013') +
    ', before this event. ' + (meta.serve ? 'Asking fedsim for the exact state\u2026' : 'For the exact state: fedsim view --serve, or fedsim replay --until ' + seq + '.');
  if (before >= 0) fillStates(panel, textsAt(before));
  if (meta.serve) askExactState(seq, panel, note);
}
/** The request for the selected event's exact state; a newer selection aborts it (only the latest answer is shown). */
var stateRequest = null;
function askExactState(seq, panel, note) {
  if (stateRequest) stateRequest.abort();
  var request = stateRequest = new AbortController();
  fetch('/state?seq=' + seq, { signal: request.signal }).then(function (r) {
    // fedsim answers its refusals (a bad seq, a replay that failed) as JSON { error }; anything else unreadable is a failure.
    return r.json().catch(function () { throw new Error('HTTP ' + r.status + ', not a fedsim answer'); });
  }).then(function (data) {
    if (stateRequest !== request || selected !== seq) return;
    stateRequest = null;
    if (data.error) { note.textContent = data.error; return; }
    panel.textContent = ''; panel.appendChild(note);
    note.dataset.exact = 'true';
    note.textContent = 'Every actor once the step that produced seq ' + seq + ' has run (replayed by fedsim just now, as fedsim replay --until ' + seq + '):';
    fillStates(panel, data.actors);
  }).catch(function (error) {
    if (stateRequest !== request) return; // superseded (aborted by a newer selection)
    stateRequest = null;
    note.dataset.exact = 'false';
    note.dataset.stateError = 'true';
    note.textContent = 'fedsim --serve is not answering (' + (error && error.message ? error.message : String(error)) + '): shown is the state kept before this event. ' +
      'Start fedsim view --serve again and reload, or get the exact state with fedsim replay --until ' + seq + '.';
  });
}
function fillStates(panel, list) {
  list.forEach(function (s) {
    var section = document.createElement('section'); section.className = 'actor-state'; section.dataset.actor = s.id;
    var pre = document.createElement('pre'); pre.textContent = s.text; section.appendChild(pre);
    panel.appendChild(section);
  });
}

// ---- Filters, search, time, divergence ----
function applyFilter() {
  var actor = $('actor-filter').value, type = $('type-filter').value;
  var a = actor === '' ? -1 : Number(actor), ty = type === '' ? -1 : Number(type);
  if (a < 0 && ty < 0) rowsFiltered = null;
  else {
    var keep = new Int32Array(N), n = 0;
    for (var seq = 0; seq < N; seq++) {
      var isMsg = KIND[seq] < NK;
      if (ty >= 0 && (!isMsg || M_TYPE[REF[seq]] !== ty)) continue;
      if (a >= 0 && !involves(seq, a)) continue;
      keep[n++] = seq;
    }
    rowsFiltered = keep.slice(0, n);
  }
  view.rows = rowsFiltered ? rowsFiltered.length : N;
  setLanes(rowsFiltered ? lanesOfRows(rowsFiltered, a) : null);
  searchCache = null;
  layout();
  if (selected >= 0 && view.rows) { var r = Math.min(rowOfSeq(selected), view.rows - 1); setFirst(r - (view.count >> 1)); } else setFirst(0);
}

var searchCache = null;
function search(direction) {
  var q = $('search').value.trim().toLowerCase();
  var status = $('search-status');
  if (!q) { status.textContent = ''; return; }
  var asSeq = /^#?(\d+)$/.exec(q);
  if (asSeq) { var s = Number(asSeq[1]); if (s < N) { select(s); status.textContent = 'seq ' + s; } else status.textContent = 'no seq ' + s + ' (the log has 0\u2013' + (N - 1) + ')'; return; }
  if (!searchCache || searchCache.q !== q) {
    var count = 0;
    for (var r = 0; r < view.rows; r++) if (searchText(rowSeq(r)).indexOf(q) >= 0) count++;
    searchCache = { q: q, count: count };
  }
  if (searchCache.count === 0) { status.textContent = 'no match'; return; }
  var start = selected >= 0 ? rowOfSeq(selected) : -1;
  for (var i = 1; i <= view.rows; i++) {
    var row = ((start + direction * i) % view.rows + view.rows) % view.rows;
    if (searchText(rowSeq(row)).indexOf(q) >= 0) { select(rowSeq(row)); status.textContent = searchCache.count + ' match' + (searchCache.count === 1 ? '' : 'es'); return; }
  }
}
function gotoTime() {
  var t = Number($('goto-time').value);
  if (!isFinite(t) || !view.rows) return;
  select(rowSeq(rowOfTime(t)));
}
function gotoDivergence() {
  if (!meta.divergence || meta.divergence.seq === null || N === 0) return;
  var seq = Math.min(meta.divergence.seq, N - 1);
  select(seq);
  // In the middle of the view: what led there and what followed.
  setFirst(rowOfSeq(seq) - (view.count >> 1));
}
function otherEnd() {
  if (selected < 0 || KIND[selected] >= NK) return;
  var m = REF[selected];
  select(selected === M_SENT[m] ? M_END[m] : M_SENT[m]);
}

function showDivergence() {
  var d = meta.divergence, panel = $('divergence');
  if (!d) { panel.hidden = true; return; }
  panel.hidden = false;
  var text = d.seq === null ? 'The events of this run and ' + d.other + ' are identical.' :
    'This run and ' + d.other + ' part ways at seq ' + d.seq + '. There, ' + d.other + ' has: ' + (d.otherLine === null ? '(its log ends here)' : d.otherLine);
  if (d.headerFields.length) text += ' \u00b7 Their headers differ in: ' + d.headerFields.join(', ') + '.';
  $('divergence-text').textContent = text;
  $('goto-divergence').hidden = d.seq === null;
}

/** Rounds that left the model unchanged (an FL run's results.json), each a button to the time it ended. */
function showSkipped() {
  var bar = $('skipped');
  if (!meta.skipped.length) { bar.hidden = true; return; }
  bar.hidden = false;
  bar.textContent = meta.skipped.length + ' round' + (meta.skipped.length === 1 ? '' : 's') + ' skipped (the model did not change):';
  meta.skipped.forEach(function (s) {
    var b = document.createElement('button'); b.className = 'skipped-round'; b.dataset.round = String(s.round);
    b.textContent = 'round ' + s.round; b.title = s.reason + ' (ended t=' + fmtT(s.t) + ' ms)';
    b.addEventListener('click', function () { if (view.rows) select(rowSeq(rowOfTime(s.t))); });
    bar.appendChild(b);
  });
}

function fillFilters() {
  var actors = $('actor-filter'), types = $('type-filter');
  meta.actors.forEach(function (name, i) { var o = document.createElement('option'); o.value = String(i); o.textContent = name; actors.appendChild(o); });
  meta.types.forEach(function (name, i) { var o = document.createElement('option'); o.value = String(i); o.textContent = name; types.appendChild(o); });
}

function onKey(event) {
  var target = event.target;
  var typing = target && (target.tagName === 'INPUT' || target.tagName === 'SELECT' || target.tagName === 'TEXTAREA');
  // Esc leaves the field with its text kept (n/N go on searching for it); preventDefault stops an input from clearing itself.
  if (typing) { if (event.key === 'Escape') { event.preventDefault(); target.blur(); } return; }
  var handled = true;
  switch (event.key) {
    case 'ArrowDown': case 'j': step(1); break;
    case 'ArrowUp': case 'k': step(-1); break;
    case 'PageDown': step(view.count - 2); break;
    case 'PageUp': step(-(view.count - 2)); break;
    case 'Home': if (view.rows) select(rowSeq(0)); break;
    case 'End': if (view.rows) select(rowSeq(view.rows - 1)); break;
    case '/': $('search').focus(); break;
    case 'n': search(1); break;
    case 'N': search(-1); break;
    case 'd': gotoDivergence(); break;
    case 'm': otherEnd(); break;
    case 'c': var link = document.querySelector('#event dd[data-field="caused by"] a'); if (link) select(Number(link.dataset.seq)); break;
    case 't': $('goto-time').focus(); break;
    default: handled = false;
  }
  if (handled) event.preventDefault();
}

function start() {
  document.title = 'fedsim view: ' + meta.name;
  $('title').textContent = meta.name;
  fillFilters();
  showDivergence();
  showSkipped();
  layout();
  setFirst(0);
  scroller.addEventListener('scroll', function () {
    if (scroller.scrollLeft !== view.x) { view.x = scroller.scrollLeft; render(); }
    if (Math.abs(scroller.scrollTop - expectedScrollTop) < 1) return;
    expectedScrollTop = -1;
    view.first = firstFromScroll();
    render();
  });
  window.addEventListener('resize', function () { layout(); render(); });
  rowList.addEventListener('click', function (e) { var row = e.target.closest('.row'); if (row && row.dataset.seq) select(Number(row.dataset.seq)); });
  canvas.addEventListener('click', function (e) { var r = view.first + Math.floor(e.offsetY / ROW); if (r < view.rows) select(rowSeq(r)); });
  $('event').addEventListener('click', function (e) { var a = e.target.closest('a[data-seq]'); if (a) { e.preventDefault(); select(Number(a.dataset.seq)); } });
  $('prev').addEventListener('click', function () { step(-1); });
  $('next').addEventListener('click', function () { step(1); });
  $('actor-filter').addEventListener('change', applyFilter);
  $('type-filter').addEventListener('change', applyFilter);
  $('search').addEventListener('keydown', function (e) { if (e.key === 'Enter') { e.preventDefault(); search(e.shiftKey ? -1 : 1); } });
  $('goto-time').addEventListener('keydown', function (e) { if (e.key === 'Enter') { e.preventDefault(); gotoTime(); } });
  $('goto-divergence').addEventListener('click', gotoDivergence);
  document.addEventListener('keydown', onKey);
  if (meta.divergence && meta.divergence.seq !== null) gotoDivergence();
  else if (N > 0) select(0);
  // For scripts and tests: the same actions as the page's controls.
  window.fedsimView = {
    select: select, step: step, recordedLine: recordedLine, events: N,
    get selected() { return selected; },
    /** The actors whose lanes are shown, left to right. */
    get lanes() { return laneActors.map(function (a) { return meta.actors[a]; }); },
  };
  document.body.dataset.ready = '1';
}

loadAll(function (done, total) { $('status').textContent = 'reading the log: block ' + done + ' of ' + total + '\u2026'; }, start);
`;
