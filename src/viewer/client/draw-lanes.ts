/**
 * Browser code: draws the visible rows of the lane view on a canvas — one vertical lane
 * per actor, one row per event (rows, not virtual ms, so that the many events of one
 * instant stay apart; the row list shows virtual time and a faint rule marks where it
 * moves on). A message is an arrow from its `sent` row on the sender's lane to its
 * delivery row on the receiver's, coloured by type; dropped messages end in a red cross,
 * fault-plan copies are dashed, delayed ones start with a hollow diamond, reordered ones
 * carry a ↺, and messages still in flight at the log's end run off the bottom. Crashes,
 * restarts, handler errors, timers, partitions, marks, skipped rounds and the divergence
 * from another run are drawn across or on the lanes.
 *
 * Only what is visible is drawn: the arrows of the messages with an end in view, and
 * those crossing the whole view (found by looking back at most LOOKBACK rows).
 * Uses view.first, view.count (rows in view), rowSeq(r), rowOfSeq(seq), laneActors, laneX(a) (NaN for
 * an actor without a lane: what touches it is not drawn), selected.
 */
export const DRAW_LANES = String.raw`
var PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];
var LOOKBACK = 4000;
function typeColour(type) { return PALETTE[type % PALETTE.length]; }

function drawLanes(ctx, width, height) {
  ctx.clearRect(0, 0, width, height);
  var first = view.first, last = Math.min(view.rows, first + view.count) - 1;
  var yOf = function (row) { return (row - first) * ROW + ROW / 2; };
  // Selection band, lanes, time rules.
  if (selected >= 0) {
    var sr = rowOfSeq(selected);
    if (sr >= first && sr <= last && rowSeq(sr) === selected) { ctx.fillStyle = '#fff3c4'; ctx.fillRect(0, yOf(sr) - ROW / 2, width, ROW); }
  }
  ctx.strokeStyle = '#d0d4da'; ctx.lineWidth = 1;
  for (var i = 0; i < laneActors.length; i++) { var x = laneX(laneActors[i]); ctx.beginPath(); ctx.moveTo(x, 0); ctx.lineTo(x, height); ctx.stroke(); }
  ctx.strokeStyle = '#eef0f3';
  for (var r = first + 1; r <= last; r++) {
    if (T[rowSeq(r)] !== T[rowSeq(r - 1)]) { var y0 = yOf(r) - ROW / 2; ctx.beginPath(); ctx.moveTo(0, y0); ctx.lineTo(width, y0); ctx.stroke(); }
  }
  // Arrows: messages with an end in view, then those crossing the whole view.
  var drawn = new Set();
  for (r = first; r <= last; r++) {
    var seq = rowSeq(r);
    if (KIND[seq] < NK && !drawn.has(REF[seq])) { drawn.add(REF[seq]); drawArrow(ctx, REF[seq], yOf, height); }
  }
  for (r = first - 1; r >= Math.max(0, first - LOOKBACK); r--) {
    seq = rowSeq(r);
    if ((KIND[seq] === K_SENT || KIND[seq] === K_DUPLICATED) && !drawn.has(REF[seq])) {
      var m = REF[seq];
      if (M_END[m] < 0 || rowOfSeq(M_END[m]) > last) { drawn.add(m); drawArrow(ctx, m, yOf, height); }
    }
  }
  // Glyphs of the events in view.
  for (r = first; r <= last; r++) drawGlyph(ctx, rowSeq(r), yOf(r), width);
  // Skipped rounds and the divergence: across all lanes.
  meta.skipped.forEach(function (s) {
    var row = rowOfTime(s.t);
    if (row >= first && row <= last) drawRule(ctx, yOf(row) - ROW / 2, width, '#e8871e', 'round ' + s.round + ' skipped: ' + s.reason, [6, 3]);
  });
  if (meta.divergence && meta.divergence.seq !== null) {
    var dr = rowOfSeq(meta.divergence.seq);
    if (dr >= first && dr <= last) drawRule(ctx, yOf(dr) - ROW / 2, width, '#d62728', 'diverges from ' + meta.divergence.other + ' here', []);
  }
}

function drawRule(ctx, y, width, colour, label, dash) {
  ctx.save(); ctx.strokeStyle = colour; ctx.lineWidth = 2; ctx.setLineDash(dash);
  ctx.beginPath(); ctx.moveTo(0, y); ctx.lineTo(width, y); ctx.stroke();
  ctx.setLineDash([]); ctx.fillStyle = colour; ctx.font = 'bold 11px system-ui, sans-serif'; ctx.fillText(label, 4, y + 11); ctx.restore();
}

function drawArrow(ctx, m, yOf, height) {
  var x0 = laneX(M_FROM[m]), x1 = laneX(M_TO[m]);
  if (isNaN(x0) || isNaN(x1)) return;
  var y0 = M_SENT[m] >= 0 ? yOf(rowOfSeq(M_SENT[m])) : -ROW;
  var end = M_END[m];
  var y1 = end >= 0 ? yOf(rowOfSeq(end)) : height + ROW;
  var dropped = (M_FLAGS[m] & FLAG_DROPPED) !== 0;
  var colour = typeColour(M_TYPE[m]);
  var isSelected = selected >= 0 && KIND[selected] < NK && REF[selected] === m;
  ctx.save();
  ctx.strokeStyle = end < 0 ? '#9aa0a6' : colour; ctx.fillStyle = ctx.strokeStyle;
  ctx.lineWidth = isSelected ? 3.5 : 1.5;
  ctx.setLineDash(M_COPY[m] ? [3, 3] : end < 0 ? [2, 4] : dropped ? [6, 3] : []);
  ctx.beginPath();
  if (x0 === x1) {
    ctx.moveTo(x0, y0); ctx.bezierCurveTo(x0 + 30, y0, x1 + 30, y1, x1 + 2, y1); ctx.stroke();
  } else if (dropped) {
    var xe = x0 + (x1 - x0) * 0.85, ye = y0 + (y1 - y0) * 0.999;
    ctx.moveTo(x0, y0); ctx.lineTo(xe, ye); ctx.stroke(); ctx.setLineDash([]);
    ctx.strokeStyle = '#d62728'; ctx.lineWidth = 2.5; ctx.beginPath();
    ctx.moveTo(xe - 5, ye - 5); ctx.lineTo(xe + 5, ye + 5); ctx.moveTo(xe - 5, ye + 5); ctx.lineTo(xe + 5, ye - 5); ctx.stroke();
  } else {
    ctx.moveTo(x0, y0); ctx.lineTo(x1, y1); ctx.stroke(); ctx.setLineDash([]);
    if (end >= 0) {
      var angle = Math.atan2(y1 - y0, x1 - x0);
      ctx.beginPath(); ctx.moveTo(x1, y1);
      ctx.lineTo(x1 - 9 * Math.cos(angle - 0.4), y1 - 9 * Math.sin(angle - 0.4));
      ctx.lineTo(x1 - 9 * Math.cos(angle + 0.4), y1 - 9 * Math.sin(angle + 0.4)); ctx.closePath(); ctx.fill();
    }
  }
  ctx.setLineDash([]);
  if (M_FLAGS[m] & FLAG_DELAYED) { ctx.strokeStyle = '#333'; ctx.lineWidth = 1.2; ctx.fillStyle = '#fff'; ctx.beginPath(); ctx.moveTo(x0, y0 - 5); ctx.lineTo(x0 + 5, y0); ctx.lineTo(x0, y0 + 5); ctx.lineTo(x0 - 5, y0); ctx.closePath(); ctx.fill(); ctx.stroke(); }
  ctx.restore();
}

function drawGlyph(ctx, seq, y, width) {
  var kind = KINDS[KIND[seq]], m, x;
  ctx.save();
  ctx.font = '11px system-ui, sans-serif';
  if (KIND[seq] < NK) {
    m = REF[seq];
    if (isNaN(laneX(M_FROM[m]))) { ctx.restore(); return; }
    if (kind === 'sent' || kind === 'duplicated') { x = laneX(M_FROM[m]); ctx.fillStyle = typeColour(M_TYPE[m]); ctx.beginPath(); ctx.arc(x, y, 2.5, 0, 7); ctx.fill(); }
    if (kind === 'duplicated') { ctx.fillStyle = '#333'; ctx.fillText('2\u00d7', laneX(M_FROM[m]) + 6, y + 4); }
    if (kind === 'reordered') { ctx.fillStyle = '#333'; ctx.fillText('\u21ba', laneX(M_FROM[m]) + 6, y + 4); }
    if (kind === 'delayed') { ctx.fillStyle = '#555'; ctx.fillText('delay', laneX(M_FROM[m]) + 7, y + 4); }
    ctx.restore();
    return;
  }
  var e = extraOf(seq) || {};
  var a = REF[seq];
  x = a >= 0 ? laneX(a) : 0;
  if (isNaN(x)) { ctx.restore(); return; }
  switch (kind) {
    case 'error': ctx.fillStyle = '#d62728'; ctx.beginPath(); ctx.arc(x, y, 5, 0, 7); ctx.fill(); break;
    case 'crashed':
    case 'restarted':
      ctx.fillStyle = kind === 'crashed' ? '#d62728' : '#2ca02c'; ctx.fillRect(x - 16, y - 2, 32, 4);
      ctx.fillText(kind, x + 19, y + 4); break;
    case 'spawned': ctx.fillStyle = '#666'; ctx.fillRect(x - 3, y - 3, 6, 6); break;
    case 'timer': if (a >= 0) { ctx.strokeStyle = '#444'; ctx.beginPath(); ctx.arc(x, y, 4, 0, 7); ctx.stroke(); ctx.beginPath(); ctx.moveTo(x, y); ctx.lineTo(x, y - 3); ctx.stroke(); } break;
    case 'mark': ctx.restore(); drawRule(ctx, y, width, '#7f7f7f', String(e.label), [2, 2]); return;
    case 'partition-start':
    case 'partition-end': ctx.restore(); drawRule(ctx, y, width, '#9467bd', describeEvent(seq), [8, 4]); return;
  }
  ctx.restore();
}
`;
