/**
 * Browser code: which actors get a lane, left to right. Without a filter every actor has
 * one, in the log's order of appearance. A filter (by actor and/or message type) keeps
 * only the lanes its rows touch: both ends of every message event kept (so each arrow
 * still has its two lanes, e.g. the server that answers the filtered client), the actor
 * of every actor event kept, and the filtered actor itself. An actor none of those rows
 * concerns has no lane, so that a filter on one client of a hundred shows two or three
 * readable lanes rather than a hundred narrow ones.
 *
 * Defines laneActors (actor indexes, in lane order), laneOf (actor index → lane, -1 when
 * it has none), setLanes(actors | null) and lanesOfRows(rows, actor).
 */
export const LANE_LAYOUT = String.raw`
var laneActors = [], laneOf = new Int32Array(meta.actors.length);

/** Shows the lanes of actors (indexes in meta.actors order), or of every actor when null. */
function setLanes(actors) {
  laneActors = actors ? actors : meta.actors.map(function (_, a) { return a; });
  laneOf.fill(-1);
  laneActors.forEach(function (a, lane) { laneOf[a] = lane; });
}

/** The actors the events of rows (seqs) concern, plus actor (-1: none), in meta.actors order. */
function lanesOfRows(rows, actor) {
  var touched = new Uint8Array(meta.actors.length);
  if (actor >= 0) touched[actor] = 1;
  for (var i = 0; i < rows.length; i++) {
    var seq = rows[i];
    if (KIND[seq] < NK) { touched[M_FROM[REF[seq]]] = 1; touched[M_TO[REF[seq]]] = 1; }
    else if (REF[seq] >= 0) touched[REF[seq]] = 1;
  }
  var out = [];
  for (var a = 0; a < touched.length; a++) if (touched[a]) out.push(a);
  return out;
}

setLanes(null);
`;
