/**
 * Browser code: what one event says, in words — its one-line description (the row list),
 * its recorded log line rebuilt byte for byte from the columns (the same key order and
 * number text as src/runtime/event-log.ts writes), and the text a search looks in.
 */
export const EVENT_TEXT = String.raw`
function actorName(i) { return i >= 0 ? meta.actors[i] : ''; }
function isMessageEvent(seq) { return KIND[seq] < NK; }
function extraOf(seq) { return EXTRA[seq] >= 0 ? extras[EXTRA[seq]] : null; }
function fmtT(t) { return String(Math.round(t * 1000) / 1000); }

/** One line: 'sent train server→client-1', 'crashed client-2', 'mark round 3 done'. */
function describeEvent(seq) {
  var kind = KINDS[KIND[seq]];
  if (isMessageEvent(seq)) {
    var m = REF[seq];
    var text = kind + ' ' + meta.types[M_TYPE[m]] + ' ' + actorName(M_FROM[m]) + '\u2192' + actorName(M_TO[m]);
    var x = extraOf(seq);
    if (kind === 'dropped' && x && x.reason) text += ' (' + x.reason + ')';
    if (kind === 'delayed' && x && typeof x.by === 'number') text += ' by ' + fmtT(x.by);
    if (M_COPY[m]) text += ' (copy)';
    return text;
  }
  var e = extraOf(seq) || {};
  switch (kind) {
    case 'mark': return 'mark ' + e.label;
    case 'partition-start':
    case 'partition-end': return kind + ' ' + (e.groups || []).map(function (g) { return g.join(','); }).join(' | ');
    case 'timer': return 'timer #' + e.timer + (e.actor ? ' on ' + e.actor : '');
    case 'error': return 'error in ' + e.actor + ': ' + e.error;
    default: return kind + ' ' + (e.actor || '');
  }
}

/** The event's line as the log records it. */
function recordedLine(seq) {
  var kind = KINDS[KIND[seq]];
  var head = '{"seq":' + seq + ',"t":' + JSON.stringify(T[seq]) + ',"ev":' + JSON.stringify(kind);
  if (!isMessageEvent(seq)) {
    var rest = extraOf(seq);
    var body = rest ? JSON.stringify(rest).slice(1, -1) : '';
    return head + (body ? ',' + body : '') + '}';
  }
  var m = REF[seq], x = extraOf(seq) || {};
  var line = head + ',"msg":' + JSON.stringify(strings[M_ID[m]]) + ',"from":' + JSON.stringify(actorName(M_FROM[m])) + ',"to":' + JSON.stringify(actorName(M_TO[m]));
  line += ',"type":' + JSON.stringify(meta.types[M_TYPE[m]]) + ',"digest":' + JSON.stringify(strings[M_DIGEST[m]]) + ',"cause":' + (M_CAUSE[m] >= 0 ? JSON.stringify(strings[M_CAUSE[m]]) : 'null');
  if (M_RE[m] >= 0) line += ',"re":' + JSON.stringify(strings[M_RE[m]]);
  if (M_COPY[m]) line += ',"copy":1';
  if (kind === 'sent' || kind === 'duplicated') line += ',"deliverAt":' + JSON.stringify(M_DELIVER_AT[m]);
  if (kind === 'duplicated') line += ',"after":' + JSON.stringify(x.after);
  if (kind === 'sent' && !isNaN(M_BYTES[m])) line += ',"bytes":' + JSON.stringify(M_BYTES[m]);
  if (kind === 'dropped') line += ',"reason":' + JSON.stringify(x.reason);
  if (kind === 'delayed') line += ',"by":' + JSON.stringify(x.by);
  return line + '}';
}

/** Whether the event concerns actor a (sender, receiver, or the actor of an actor event). */
function involves(seq, a) {
  if (isMessageEvent(seq)) { var m = REF[seq]; return M_FROM[m] === a || M_TO[m] === a; }
  return REF[seq] === a || REF[seq] < 0;
}

/** Lower-cased text a search looks in: the kind, the message's id, type, ends and digest, or the event's fields. */
function searchText(seq) {
  if (isMessageEvent(seq)) {
    var m = REF[seq];
    return (KINDS[KIND[seq]] + ' ' + strings[M_ID[m]] + ' ' + meta.types[M_TYPE[m]] + ' ' + actorName(M_FROM[m]) + ' ' + actorName(M_TO[m]) + ' ' + strings[M_DIGEST[m]]).toLowerCase();
  }
  return (KINDS[KIND[seq]] + ' ' + JSON.stringify(extraOf(seq) || {})).toLowerCase();
}
`;
