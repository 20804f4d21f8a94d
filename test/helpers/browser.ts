/**
 * Debian's chromium, headless, driven through playwright-core (nothing is downloaded:
 * the browser is the installed one). One browser per test file, closed when it ends.
 */
import { existsSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';

export const CHROMIUM = process.env.FEDSIM_CHROMIUM ?? '/usr/bin/chromium';

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`The viewer's tests drive Debian's chromium, which is not installed at ${CHROMIUM}: apt-get install chromium (or run .ci/run, which installs it), or set FEDSIM_CHROMIUM to another chromium.`);
  }
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
}

/** A page of the viewer at `url`, once it has read its data; page errors fail the test that reads `errors`. */
export async function openViewer(browser: Browser, url: string, size = { width: 1400, height: 850 }): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: size });
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  // The page needs no network: any request but its own URL (and the state server) is a failure.
  page.on('request', (request) => {
    const u = request.url();
    if (!(u === url || u.startsWith(new URL(url).origin + '/state') || u.startsWith('data:'))) errors.push(`unexpected request: ${u}`);
  });
  await page.goto(url);
  await page.waitForSelector('body[data-ready="1"]');
  return { page, errors };
}

/**
 * The little of the DOM the tests' in-page callbacks touch (the project compiles without
 * the DOM library): a row element, and the page's scripting handle `window.fedsimView`.
 */
export interface RowElement {
  style: { display: string };
  dataset: Record<string, string | undefined>;
  getAttribute(name: string): string | null;
  querySelector(selector: string): { textContent: string | null } | null;
}
export interface ViewerHandle {
  events: number;
  selected: number;
  /** The actors whose lanes are shown, left to right. */
  lanes: string[];
  select(seq: number): void;
  recordedLine(seq: number): string;
}
/** What `page.evaluate` callbacks see as globals. */
export interface PageGlobals {
  fedsimView: ViewerHandle;
  document: { querySelector(s: string): RowElement | null; querySelectorAll(s: string): ArrayLike<RowElement> & Iterable<RowElement> };
}
