/**
 * The viewer on a generated log of 1,000,000 events, in chromium: the page reads it,
 * keeps a bounded number of elements whatever the log's length, and shows the right
 * events far into it — by search, by virtual time, by scrolling. (How long it takes is
 * measured by `npm run bench -- viewer`, never asserted here.)
 */
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { viewCommand } from '../src/cli/commands/view.js';
import { launchBrowser, openViewer, type PageGlobals, type RowElement } from './helpers/browser.js';
import { syntheticRowText, writeSyntheticLog } from './helpers/synthetic-log.js';

const EVENTS = 1_000_000;
const dir = mkdtempSync(join(tmpdir(), 'fedsim-viewer-1m-'));
let browser: Browser;
let url: string;

test.before(async () => {
  const log = join(dir, 'big.jsonl');
  writeSyntheticLog(log, EVENTS);
  await viewCommand(log, { out: join(dir, 'big.html'), states: false });
  url = pathToFileURL(join(dir, 'big.html')).href;
  browser = await launchBrowser();
});

test.after.always(async () => {
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The rows on screen: [seq, text of the event] in order. */
const rowsShown = (page: Page) =>
  page.$$eval('#rows .row', (rows) => rows.filter((r) => (r as unknown as RowElement).style.display !== 'none').map((r) => [Number((r as unknown as RowElement).dataset.seq), r.querySelector('.what')!.textContent!] as [number, string]));

function assertRowsAreTheLog(t: { deepEqual(a: unknown, b: unknown, m?: string): void; true(v: boolean, m?: string): void }, rows: Array<[number, string]>): void {
  t.true(rows.length > 10, `rows shown: ${rows.length}`);
  const first = rows[0][0];
  t.deepEqual(rows, rows.map((_, i) => [first + i, syntheticRowText(first + i)]), 'contiguous rows with the events of the log');
}

test('a million events load into a page of a bounded number of elements, read block by block', async (t) => {
  const { page, errors } = await openViewer(browser, url);
  t.deepEqual(errors, []);
  t.regex((await page.textContent('#status'))!, /^1,000,000 events · 500,000 messages · 12 actors · rows 1–\d+ of 1,000,000/);
  // Every data block was read and removed: the page does not keep the log's text.
  t.is(await page.$$eval('script[class^="fedsim-"]', (blocks) => blocks.length), 0);
  const rows = await page.$$eval('#rows .row', (r) => r.length);
  t.true(rows > 10 && rows < 80, `row elements: ${rows}`);
  const elements = await page.evaluate(() => (globalThis as unknown as PageGlobals).document.querySelectorAll('*').length);
  t.true(elements < 400, `elements in the page: ${elements}`);
  assertRowsAreTheLog(t, await rowsShown(page));
});

test('far into the log: search by seq, go to a virtual time, scroll', async (t) => {
  const { page, errors } = await openViewer(browser, url);
  await page.fill('#search', '#987654');
  await page.press('#search', 'Enter');
  t.is(await page.getAttribute('body', 'data-selected'), '987654');
  t.is(await page.textContent('#rows .row.selected .what'), syntheticRowText(987654));
  t.is(await page.textContent('#event dd[data-field="message"]'), `a${493827 % 12}:493827`);
  assertRowsAreTheLog(t, await rowsShown(page));

  // Message k is sent at seq 2k at time k: t=400000 is seq 800000.
  await page.fill('#goto-time', '400000');
  await page.press('#goto-time', 'Enter');
  t.is(await page.getAttribute('body', 'data-selected'), '800000');
  assertRowsAreTheLog(t, await rowsShown(page));

  // Scrolling moves the window and shows the log's events there.
  const before = (await rowsShown(page))[0][0];
  const scroller = (await page.$('#scroller'))!;
  const box = (await scroller.boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.wheel(0, 2000);
  await page.waitForFunction((first) => Number((globalThis as unknown as PageGlobals).document.querySelector('#rows .row')!.getAttribute('data-seq')) > first, before);
  assertRowsAreTheLog(t, await rowsShown(page));
  // To the very end.
  await page.$eval('#scroller', (el) => (el.scrollTop = el.scrollHeight));
  await page.waitForFunction(() => [...(globalThis as unknown as PageGlobals).document.querySelectorAll('#rows .row')].some((r) => r.getAttribute('data-seq') === '999999'));
  const end = await rowsShown(page);
  t.is(end[end.length - 1][0], EVENTS - 1);
  assertRowsAreTheLog(t, end);
  t.deepEqual(errors, []);
});
