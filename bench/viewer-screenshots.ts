/**
 * `npm run screenshots`: the pictures of the README's "Viewing a run" walkthrough, made
 * the way a user makes them — the stale-update scenario recorded with its bug and with
 * the fix (runs/stale, runs/fixed), `fedsim view` on both — then chromium (headless,
 * Debian's) photographs the viewer at the steps of the walkthrough into docs/images/.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Page } from 'playwright-core';
import { launchBrowser, type PageGlobals } from '../test/helpers/browser.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const IMAGES = join(ROOT, 'docs', 'images');

function fedsim(...args: string[]): void {
  try {
    execFileSync(process.execPath, [join(ROOT, 'bin', 'fedsim.js'), ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'inherit', 'inherit'] });
  } catch (error) {
    // `fedsim run` of the buggy scenario exits 1 (its check fails): that is the point.
    if ((error as { status?: number }).status !== 1 || args[0] !== 'run') throw error;
  }
}

fedsim('run', 'scenarios/stale-update-delays.yaml', '--out', 'runs/stale', '-q');
fedsim('run', 'scenarios/stale-update-delays.yaml', '--set', 'fixed=true', '--out', 'runs/fixed', '-q');
fedsim('view', 'runs/stale');
fedsim('view', 'runs/stale', '--diff', 'runs/fixed', '--out', 'runs/stale/viewer-diff.html');

const lines = readFileSync(join(ROOT, 'runs/stale/run.jsonl'), 'utf8').trimEnd().split('\n').slice(1);
const staleSent = lines.findIndex((l) => l.includes('"ev":"sent","msg":"client-2:0"'));
const staleDelivered = lines.findIndex((l) => l.includes('"ev":"delivered","msg":"client-2:0"'));

const browser = await launchBrowser();
const open = async (file: string): Promise<Page> => {
  const page = await browser.newPage({ viewport: { width: 1400, height: 860 }, deviceScaleFactor: 1 });
  await page.goto(pathToFileURL(join(ROOT, file)).href);
  await page.waitForSelector('body[data-ready="1"]');
  return page;
};
const select = (page: Page, seq: number) => page.evaluate((s) => (globalThis as unknown as PageGlobals).fedsimView.select(s), seq);

const page = await open('runs/stale/viewer.html');
// 1. The run from the top: rounds 1 and 2, and one update arrow that does not come back.
await select(page, staleSent);
await page.screenshot({ path: join(IMAGES, 'viewer-overview.png') });
// 2. Where that arrow lands: client-2's round-1 update, delivered while the server collects round 3.
await select(page, staleDelivered);
await page.screenshot({ path: join(IMAGES, 'viewer-stale-update.png') });
// 3. The fixed run as reference: the page opens where the two runs part ways.
const diff = await open('runs/stale/viewer-diff.html');
await diff.screenshot({ path: join(IMAGES, 'viewer-divergence.png') });
await browser.close();
console.log(`wrote docs/images/viewer-overview.png, viewer-stale-update.png, viewer-divergence.png (stale update: sent at seq ${staleSent}, delivered at seq ${staleDelivered})`);
