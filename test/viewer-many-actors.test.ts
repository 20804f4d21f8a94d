/**
 * The viewer with many actors, in chromium: an FL run of 24 clients (26 actors with the
 * server and the driver). Every lane keeps a readable width (its actor's name whole) and
 * the lanes scroll sideways; selecting an event brings its lanes into view; the actor
 * filter shows only the lanes its rows touch (the client and the server it talks to), a
 * type filter only the actors of that type's messages.
 */
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { viewCommand } from '../src/cli/commands/view.js';
import { launchBrowser, openViewer, type PageGlobals } from './helpers/browser.js';
import { fedsim } from './helpers/fedsim-cli.js';

const CLIENTS = 24;
const dir = mkdtempSync(join(tmpdir(), 'fedsim-view-many-'));
const run = join(dir, 'run');
const page = join(dir, 'viewer.html');
const clientIds = Array.from({ length: CLIENTS }, (_, i) => `client-${String(i).padStart(2, '0')}`);
let browser: Browser;

test.before(async () => {
  writeFileSync(
    join(dir, 'many.yaml'),
    `kind: fedavg
name: many-actors
seed: 3
data: { source: synthetic, alpha: 1, beta: 1, devices: ${CLIENTS}, features: 4, classes: 2, maxSamplesPerDevice: 6 }
model: { kind: logistic, inputs: 4, classes: 2 }
rounds: 1
localEpochs: 1
batchSize: 5
lr: 0.1
`,
  );
  const recorded = await fedsim('run', join(dir, 'many.yaml'), '--out', run, '-q');
  if (recorded.code !== 0) throw new Error(`recording failed:\n${recorded.stderr}`);
  // The lanes do not depend on the actors' states: the page without them is quicker to write.
  await viewCommand(run, { out: page, states: false });
  browser = await launchBrowser();
});
test.after.always(async () => {
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
});

const lanes = (p: Page) => p.evaluate(() => (globalThis as unknown as PageGlobals).fedsimView.lanes);
/** The lane names on screen: each one's text, width, whether its text is cut, and whether it lies inside the lanes' clip. */
function laneNames(p: Page) {
  return p.$$eval('#lane-names .lane-name', (spans) => {
    const clip = spans[0].parentElement!.getBoundingClientRect();
    return spans.map((span) => {
      const r = span.getBoundingClientRect();
      return { name: span.textContent!, width: r.width, cut: span.scrollWidth > span.clientWidth, inView: r.left >= clip.left - 0.5 && r.right <= clip.right + 0.5 };
    });
  });
}
/** The seq of the first `ev` event of a message to `to`, read from the log. */
function seqOf(ev: string, to: string): number {
  const line = readFileSync(join(run, 'run.jsonl'), 'utf8').split('\n').find((l) => l.includes(`"ev":"${ev}"`) && l.includes(`"to":"${to}"`));
  return (JSON.parse(line!) as { seq: number }).seq;
}

test('26 actors: every lane is wide enough for its name, and the lanes scroll sideways to the last one', async (t) => {
  const { page: p, errors } = await openViewer(browser, pathToFileURL(page).href);
  t.deepEqual(await lanes(p), ['me', ...clientIds, 'server']);
  const names = await laneNames(p);
  t.is(names.length, CLIENTS + 2);
  for (const n of names) {
    t.true(n.width >= 72, `${n.name}'s lane is ${n.width} px wide`);
    t.false(n.cut, `${n.name} is shown whole`);
  }
  const scroll = await p.$eval('#scroller', (s) => ({ width: s.scrollWidth, client: s.clientWidth }));
  t.true(scroll.width > scroll.client, 'the lanes that do not fit scroll sideways');
  t.false(names.find((n) => n.name === 'client-23')!.inView, 'client-23 is off to the right at first');

  // Selecting client-23's delivery scrolls its lane into view (the row list stays where it is).
  const seq = seqOf('delivered', 'client-23');
  await p.evaluate((s) => (globalThis as unknown as PageGlobals).fedsimView.select(s), seq);
  t.true((await laneNames(p)).find((n) => n.name === 'client-23')!.inView, 'client-23 is in view once its event is selected');
  t.is(await p.$eval('#rows', (r) => Math.round(r.getBoundingClientRect().left)), 0);
  t.deepEqual(errors, []);
});

test('the actor filter shows only the lanes of that actor and of those it exchanges messages with', async (t) => {
  const { page: p, errors } = await openViewer(browser, pathToFileURL(page).href);
  await p.selectOption('#actor-filter', { label: 'client-07' });
  t.deepEqual(await lanes(p), ['client-07', 'server']);
  const names = await laneNames(p);
  t.deepEqual(names.map((n) => n.name), ['client-07', 'server']);
  t.true(names.every((n) => n.inView && n.width >= 72));
  t.regex((await p.textContent('#status'))!, /26 actors \(2 lanes shown\)/);

  // A type filter: the lanes of that type's senders and receivers (the driver does not train).
  await p.selectOption('#actor-filter', { label: 'all actors' });
  await p.selectOption('#type-filter', { label: 'fl/fit-result' });
  t.deepEqual(await lanes(p), [...clientIds, 'server']);
  await p.selectOption('#type-filter', { label: 'all types' });
  t.is((await lanes(p)).length, CLIENTS + 2);
  t.deepEqual(errors, []);
});
