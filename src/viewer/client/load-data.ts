/**
 * Browser code (plain ES2017, inlined into the page): reads the page's data blocks into
 * typed arrays, one block per task so the page stays responsive and shows its progress,
 * removing each block from the document once read. Then derives what drawing needs: per
 * message whether a fault touched it. It defines, in the page's one scope:
 * meta, N, M, T, KIND, REF, EXTRA, the message columns (M_*), strings, extras, M_FLAGS,
 * and loadAll(onProgress, onDone).
 */
export const LOAD_DATA = String.raw`
var meta = JSON.parse(document.getElementById('fedsim-meta').textContent);
var N = meta.events, M = meta.messages, NK = meta.messageKinds, KINDS = meta.kinds;
var T = new Float64Array(N), KIND = new Uint8Array(N), REF = new Int32Array(N), EXTRA = new Int32Array(N);
var M_DELIVER_AT = new Float64Array(M), M_BYTES = new Float64Array(M);
var M_ID = new Int32Array(M), M_DIGEST = new Int32Array(M), M_CAUSE = new Int32Array(M), M_RE = new Int32Array(M);
var M_FROM = new Int32Array(M), M_TO = new Int32Array(M), M_TYPE = new Int32Array(M), M_SENT = new Int32Array(M), M_END = new Int32Array(M);
var M_PAYLOAD = new Int32Array(M), M_COPY = new Uint8Array(M);
/** Per message: 1 delayed, 2 reordered, 4 dropped. */
var M_FLAGS = new Uint8Array(M);
var FLAG_DELAYED = 1, FLAG_REORDERED = 2, FLAG_DROPPED = 4;
var K_SENT = KINDS.indexOf('sent'), K_DELIVERED = KINDS.indexOf('delivered'), K_DROPPED = KINDS.indexOf('dropped');
var K_DUPLICATED = KINDS.indexOf('duplicated'), K_DELAYED = KINDS.indexOf('delayed'), K_REORDERED = KINDS.indexOf('reordered');
var strings = [], extras = [];

function base64Bytes(text) {
  var binary = atob(text);
  var n = binary.length;
  var bytes = new Uint8Array(n);
  for (var i = 0; i < n; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function readEvents(el) {
  var first = Number(el.dataset.first), n = Number(el.dataset.count);
  var buf = base64Bytes(el.textContent).buffer;
  T.set(new Float64Array(buf, 0, n), first);
  REF.set(new Int32Array(buf, 8 * n, n), first);
  EXTRA.set(new Int32Array(buf, 12 * n, n), first);
  KIND.set(new Uint8Array(buf, 16 * n, n), first);
}

function readMessages(el) {
  var first = Number(el.dataset.first), n = Number(el.dataset.count);
  var buf = base64Bytes(el.textContent).buffer;
  M_DELIVER_AT.set(new Float64Array(buf, 0, n), first);
  M_BYTES.set(new Float64Array(buf, 8 * n, n), first);
  var ints = [M_ID, M_DIGEST, M_CAUSE, M_RE, M_FROM, M_TO, M_TYPE, M_SENT, M_END, M_PAYLOAD];
  for (var c = 0; c < ints.length; c++) ints[c].set(new Int32Array(buf, 16 * n + 4 * c * n, n), first);
  M_COPY.set(new Uint8Array(buf, 16 * n + 4 * ints.length * n, n), first);
}

function readJsonList(el, into) {
  var list = JSON.parse(el.textContent);
  for (var i = 0; i < list.length; i++) into.push(list[i]);
}

function deriveFlags() {
  for (var seq = 0; seq < N; seq++) {
    var k = KIND[seq];
    if (k === K_DELAYED) M_FLAGS[REF[seq]] |= FLAG_DELAYED;
    else if (k === K_REORDERED) M_FLAGS[REF[seq]] |= FLAG_REORDERED;
    else if (k === K_DROPPED) M_FLAGS[REF[seq]] |= FLAG_DROPPED;
  }
}

/** Reads every data block, one per task; onProgress(done, total) between blocks. */
function loadAll(onProgress, onDone) {
  var blocks = Array.prototype.slice.call(document.querySelectorAll('script.fedsim-strings, script.fedsim-extras, script.fedsim-events, script.fedsim-messages'));
  var next = 0;
  function step() {
    var until = Date.now() + 30;
    while (next < blocks.length && Date.now() < until) {
      var el = blocks[next++];
      if (el.classList.contains('fedsim-strings')) readJsonList(el, strings);
      else if (el.classList.contains('fedsim-extras')) readJsonList(el, extras);
      else if (el.classList.contains('fedsim-events')) readEvents(el);
      else readMessages(el);
      el.remove();
    }
    onProgress(next, blocks.length);
    if (next < blocks.length) setTimeout(step, 0);
    else {
      deriveFlags();
      onDone();
    }
  }
  step();
}
`;
