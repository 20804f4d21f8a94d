/**
 * The viewer page's search box and its requests to `fedsim view --serve`, in a real browser:
 * Esc leaves the search with its query kept (n/N go on), a server that stopped answering is
 * said so in the state panel, and a newer selection cancels the older state request.
 */
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Request } from 'playwright-core';
import { viewCommand } from '../src/cli/commands/view.js';
import { fedsim } from './helpers/fedsim-cli.js';
import { launchBrowser, openViewer, type PageGlobals } from './helpers/browser.js';

const dir = mkdtempSync(join(tmpdir(), 'fedsim-view-client-'));
const stale = join(dir, 'stale');
let browser: Browser;

test.before(async () => {
  const recorded = await fedsim('run', 'scenarios/stale-update-delays.yaml', '--out', stale, '-q');
  if (recorded.code !== 1) throw new Error(`recording failed:\n${recorded.stderr}`);
  browser = await launchBrowser();
});
test.after.always(async () => {
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A served viewer keeping states every 50 events, so most events need the server's exact state. */
async function serve(t: { teardown(fn: () => Promise<void>): void }) {
  let served!: { url: string; close: () => Promise<void> };
  await viewCommand(stale, { serve: true, port: 0, stateEvery: 50, onServing: (url, close) => (served = { url, close }) });
  let closed = false;
  const close = async () => {
    if (!closed) (closed = true), await served.close();
  };
  t.teardown(close);
  return { url: served.url, close };
}

const selectedSeq = (page: import('playwright-core').Page) => page.evaluate(() => (globalThis as unknown as PageGlobals).fedsimView.selected);

test('Esc in the search box keeps the query: n then goes on to the next match', async (t) => {
  const { url } = await serve(t);
  const { page, errors } = await openViewer(browser, url);
  await page.fill('#search', 'client-2');
  await page.press('#search', 'Enter');
  const first = await selectedSeq(page);
  await page.press('#search', 'Escape');
  t.is(await page.inputValue('#search'), 'client-2', 'the query is kept');
  await page.keyboard.press('n');
  const next = await selectedSeq(page);
  t.true(next > first, `n moved on from ${first} to ${next}`);
  t.deepEqual(errors, []);
});

test('a server that stopped: the state panel says fedsim --serve is not answering, with what to do', async (t) => {
  const { url, close } = await serve(t);
  const { page } = await openViewer(browser, url);
  await close();
  await page.evaluate(() => (globalThis as unknown as PageGlobals).fedsimView.select(60));
  await page.waitForSelector('#states .note[data-state-error="true"]');
  t.regex((await page.textContent('#states .note'))!, /^fedsim --serve is not answering \(.+\): shown is the state kept before this event\. .*fedsim replay --until 60\.$/);
});

test('a newer selection cancels the older state request; only the latest answer is shown', async (t) => {
  const { url } = await serve(t);
  const { page, errors } = await openViewer(browser, url);
  // The answer for seq 60 never comes (a slow replay): selecting 70 must not wait for it, and must cancel it.
  await page.route(/\/state\?seq=60$/, () => {});
  const cancelled = new Promise<Request>((done) => page.on('requestfailed', (request) => request.url().endsWith('seq=60') && done(request)));
  await page.evaluate(() => (globalThis as unknown as PageGlobals).fedsimView.select(60));
  await page.evaluate(() => (globalThis as unknown as PageGlobals).fedsimView.select(70));
  await page.waitForSelector('#states .note[data-exact="true"]');
  t.regex((await page.textContent('#states .note'))!, /produced seq 70 has run \(replayed by fedsim just now/);
  t.regex((await cancelled).failure()?.errorText ?? '', /ABORTED/i);
  t.deepEqual(errors, []);
});
