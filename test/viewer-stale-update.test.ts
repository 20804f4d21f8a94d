/**
 * The viewer in a real browser (Debian's chromium, headless) on a recorded run of the
 * planted stale-update bug: what a click shows is what `fedsim replay --until` reports,
 * stepping, filters, search, and the jump to where the run parts ways with its fix.
 */
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { fedsim } from './helpers/fedsim-cli.js';
import { launchBrowser, openViewer, type PageGlobals, type RowElement } from './helpers/browser.js';

interface World {
  browser: Browser;
  url: string;
  lines: string[];
  /** The delivery of client-2's round-1 update, which arrives during round 3. */
  staleSeq: number;
  /** The first event where the run and its fixed twin differ. */
  divergenceSeq: number;
  /** What `fedsim replay --until SEQ` prints for the actors. */
  replayed: Map<number, string>;
}

let world: World;
/** An event that scenario code (not a step) produced: the driver's first request. */
const DRIVER_SEND = 5;

/** The actors' part of `fedsim replay --until seq`'s output. */
function actorsPart(stdout: string, seq: number): string {
  const marker = `  seq ${seq}  `;
  const at = stdout.indexOf(marker);
  const start = stdout.indexOf('\n\n', at);
  if (at < 0 || start < 0) throw new Error(`unexpected replay output:\n${stdout}`);
  return stdout.slice(start + 2);
}

const dir = mkdtempSync(join(tmpdir(), 'fedsim-viewer-'));

test.before(async () => {
  const [stale, fixed] = await Promise.all([
    fedsim('run', 'scenarios/stale-update-delays.yaml', '--out', join(dir, 'stale'), '-q'),
    fedsim('run', 'scenarios/stale-update-delays.yaml', '--set', 'fixed=true', '--out', join(dir, 'fixed'), '-q'),
  ]);
  if (stale.code !== 1 || fixed.code !== 0) throw new Error(`the runs did not go as planned (the bug fails a check, the fix passes):\n${stale.stdout}${stale.stderr}\n${fixed.stdout}${fixed.stderr}`);
  const lines = readFileSync(join(dir, 'stale', 'run.jsonl'), 'utf8').trimEnd().split('\n').slice(1);
  const fixedLines = readFileSync(join(dir, 'fixed', 'run.jsonl'), 'utf8').trimEnd().split('\n').slice(1);
  const staleSeq = lines.findIndex((l) => l.includes('"ev":"delivered","msg":"client-2:0"'));
  const divergenceSeq = lines.findIndex((l, i) => l !== fixedLines[i]);
  const seqs = [DRIVER_SEND, staleSeq, divergenceSeq];
  const [view, ...replays] = await Promise.all([
    fedsim('view', join(dir, 'stale'), '--diff', join(dir, 'fixed'), '--out', join(dir, 'viewer.html')),
    ...seqs.map((seq) => fedsim('replay', join(dir, 'stale', 'run.jsonl'), '--until', String(seq))),
  ]);
  if (view.code !== 0) throw new Error(`fedsim view failed:\n${view.stdout}${view.stderr}`);
  const replayed = new Map(seqs.map((seq, i) => [seq, actorsPart(replays[i].stdout, seq)]));
  world = { browser: await launchBrowser(), url: pathToFileURL(join(dir, 'viewer.html')).href, lines, staleSeq, divergenceSeq, replayed };
});

test.after.always(async () => {
  await world?.browser.close();
  rmSync(dir, { recursive: true, force: true });
});

const selectedSeq = async (page: Page) => Number(await page.getAttribute('body', 'data-selected'));
const statesShown = (page: Page) => page.$$eval('#states .actor-state pre', (pres) => pres.map((p) => p.textContent + '\n').join('\n'));
const fieldText = (page: Page, name: string) => page.textContent(`#event dd[data-field="${name}"]`);

async function goTo(page: Page, seq: number): Promise<void> {
  await page.fill('#search', `#${seq}`);
  await page.press('#search', 'Enter');
}

test('clicking an event shows its message and every actor\'s state, as fedsim replay --until reports them', async (t) => {
  const { page, errors } = await openViewer(world.browser, world.url);
  for (const seq of [DRIVER_SEND, world.staleSeq, world.divergenceSeq]) {
    // Scroll near it through another event, then click the event's own row.
    await goTo(page, Math.max(0, seq - 1));
    await page.click(`#rows .row[data-seq="${seq}"]`);
    t.is(await selectedSeq(page), seq);
    t.is(await page.textContent('#event-line'), world.lines[seq], `the recorded line of seq ${seq}`);
    t.is(await page.getAttribute('#states .note', 'data-exact'), 'true');
    t.is(await statesShown(page), world.replayed.get(seq)!, `the actors at seq ${seq}`);
  }
  // The stale update, as the message panel shows it: sent in round 1, delivered while the server is in round 3.
  await goTo(page, world.staleSeq);
  t.is(await fieldText(page, 'message'), 'client-2:0');
  t.is(await fieldText(page, 'type'), 'update');
  t.regex((await fieldText(page, 'payload'))!, /^\{ round: 1, delta: /);
  t.regex((await fieldText(page, 'faults'))!, /delayed/);
  t.regex((await fieldText(page, 'caused by'))!, /^server:1 \(seq \d+\)$/);
  t.regex((await page.textContent('#states section[data-actor="server"] pre'))!, /round\s+3\n/);
  t.deepEqual(errors, []);
});

test('a click on the lanes selects the event of that row', async (t) => {
  const { page, errors } = await openViewer(world.browser, world.url);
  const seq = world.staleSeq;
  await goTo(page, seq - 3);
  const row = (await page.$(`#rows .row[data-seq="${seq}"]`))!;
  const rowBox = (await row.boundingBox())!;
  const canvas = (await page.$('#lanes'))!;
  const canvasBox = (await canvas.boundingBox())!;
  await page.mouse.click(canvasBox.x + canvasBox.width / 2, rowBox.y + rowBox.height / 2);
  t.is(await selectedSeq(page), seq);
  t.is(await page.textContent('#event-line'), world.lines[seq]);
  t.deepEqual(errors, []);
});

test('stepping forward and back, by key and by button; m goes to the other end of the message, c to its cause', async (t) => {
  const { page, errors } = await openViewer(world.browser, world.url);
  await goTo(page, 40);
  await page.keyboard.press('Escape'); // out of the search box: keys now step
  await page.keyboard.press('ArrowDown');
  t.is(await selectedSeq(page), 41);
  await page.keyboard.press('j');
  t.is(await selectedSeq(page), 42);
  await page.keyboard.press('ArrowUp');
  t.is(await selectedSeq(page), 41);
  await page.click('#prev');
  t.is(await selectedSeq(page), 40);
  await page.click('#next');
  t.is(await selectedSeq(page), 41);
  t.is(await page.textContent('#event-line'), world.lines[41]);
  // From a message's send to its delivery and back.
  const sent = world.lines.findIndex((l) => l.includes('"ev":"sent","msg":"client-2:0"'));
  await goTo(page, sent);
  await page.keyboard.press('Escape');
  await page.keyboard.press('m');
  t.is(await selectedSeq(page), world.staleSeq);
  await page.keyboard.press('m');
  t.is(await selectedSeq(page), sent);
  // c: to the cause, the delivery of the train message whose handler sent this update.
  await page.keyboard.press('c');
  t.is(world.lines[await selectedSeq(page)], world.lines.find((l) => l.includes('"ev":"delivered","msg":"server:1"'))!);
  await page.keyboard.press('End');
  t.is(await selectedSeq(page), world.lines.length - 1);
  t.deepEqual(errors, []);
});

test('filters by actor and by message type show only the matching events', async (t) => {
  const { page, errors } = await openViewer(world.browser, world.url);
  const shownSeqs = () => page.$$eval('#rows .row', (rows) => rows.filter((r) => (r as unknown as RowElement).style.display !== 'none').map((r) => Number((r as unknown as RowElement).dataset.seq)));
  const client2 = await page.$$eval('#actor-filter option', (os) => os.find((o) => o.textContent === 'client-2')!.getAttribute('value')!);
  await page.selectOption('#actor-filter', client2);
  await page.keyboard.press('Home');
  const involving = world.lines.flatMap((l, seq) => (/"(from|to|actor)":"client-2"/.test(l) || /"ev":"(mark|partition-(start|end))"/.test(l) ? [seq] : []));
  const shown = await shownSeqs();
  t.true(shown.length > 5);
  t.deepEqual(shown, involving.slice(0, shown.length));
  const update = await page.$$eval('#type-filter option', (os) => os.find((o) => o.textContent === 'update')!.getAttribute('value')!);
  await page.selectOption('#type-filter', update);
  await page.keyboard.press('Home');
  const updatesOfClient2 = world.lines.flatMap((l, seq) => (l.includes('"type":"update"') && /"(from|to)":"client-2"/.test(l) ? [seq] : []));
  t.deepEqual(await shownSeqs(), updatesOfClient2.slice(0, (await shownSeqs()).length));
  t.regex((await page.textContent('#status'))!, new RegExp(`of ${updatesOfClient2.length} \\(filtered\\)`));
  // Stepping stays inside the filter.
  await page.keyboard.press('ArrowDown');
  t.is(await selectedSeq(page), updatesOfClient2[1]);
  await page.selectOption('#actor-filter', '');
  await page.selectOption('#type-filter', '');
  t.regex((await page.textContent('#status'))!, new RegExp(`of ${world.lines.length} ·`));
  t.deepEqual(errors, []);
});

test('search finds the next and previous match, by id, type or actor', async (t) => {
  const { page, errors } = await openViewer(world.browser, world.url);
  const matches = world.lines.flatMap((l, seq) => (l.includes('"msg":"client-2:0"') ? [seq] : []));
  await page.keyboard.press('Home');
  await page.fill('#search', 'client-2:0');
  await page.press('#search', 'Enter');
  t.is(await selectedSeq(page), matches[0]);
  t.is(await page.textContent('#search-status'), `${matches.length} matches`);
  await page.press('#search', 'Enter');
  t.is(await selectedSeq(page), matches[1]);
  await page.press('#search', 'Shift+Enter');
  t.is(await selectedSeq(page), matches[0]);
  await page.fill('#search', 'no-such-thing');
  await page.press('#search', 'Enter');
  t.is(await page.textContent('#search-status'), 'no match');
  t.deepEqual(errors, []);
});

test('opened with --diff, the page starts at the first divergence from the fixed run and marks it', async (t) => {
  const { page, errors } = await openViewer(world.browser, world.url);
  const seq = world.divergenceSeq;
  t.is(await selectedSeq(page), seq);
  t.regex((await page.textContent('#divergence-text'))!, new RegExp(`part ways at seq ${seq}\\.`));
  t.regex((await page.textContent('#divergence-text'))!, /headers differ in: scenario/);
  t.is(await page.getAttribute(`#rows .row[data-seq="${seq}"]`, 'class'), 'row kind-sent selected diverges');
  // The buggy server closed round 3 with client-2's round-1 update in it.
  t.regex((await fieldText(page, 'payload'))!, /\{ from: "client-2", round: 1 \}/);
  await page.keyboard.press('Home');
  t.is(await selectedSeq(page), 0);
  await page.keyboard.press('d');
  t.is(await selectedSeq(page), seq);
  t.deepEqual(errors, []);
});

test('every event line is rebuilt byte for byte from the page\'s columns', async (t) => {
  const { page } = await openViewer(world.browser, world.url);
  const rebuilt = await page.evaluate(() => {
    const view = (globalThis as unknown as PageGlobals).fedsimView;
    return Array.from({ length: view.events }, (_, seq) => view.recordedLine(seq));
  });
  t.deepEqual(rebuilt, world.lines);
});
