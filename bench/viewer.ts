/**
 * `fedsim view` on a generated log of 1,000,000 events (test/helpers/synthetic-log.ts):
 * how long writing the page takes and how big it is, then in Debian's chromium (headless)
 * how long the page takes to read its data and become usable, and what it holds in
 * memory then (JS heap after a GC, the typed arrays it decoded, and every chromium
 * process's resident memory). Wall-clock figures of a shared machine: medians of a few
 * loads.
 *
 *   npm run bench -- viewer                  # 1,000,000 events
 *   npm run bench -- viewer --events 200000
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { viewCommand } from '../src/cli/commands/view.js';
import { launchBrowser, type PageGlobals } from '../test/helpers/browser.js';
import { writeSyntheticLog } from '../test/helpers/synthetic-log.js';
import { numberOption } from './bench-options.js';

const LOADS = 3;

/** Resident memory of a process and all its descendants, MiB (from ps). */
function treeRssMb(pid: number): number {
  const table = execFileSync('ps', ['-eo', 'pid=,ppid=,rss='], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((row) => row.trim().split(/\s+/).map(Number));
  const inTree = new Set([pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [p, parent] of table) if (inTree.has(parent) && !inTree.has(p)) (inTree.add(p), (grew = true));
  }
  return table.filter(([p]) => inTree.has(p)).reduce((sum, [, , rss]) => sum + rss, 0) / 1024;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export const benchmark = {
  name: 'viewer',
  title: 'fedsim view on a 1,000,000-event log',
  async run(): Promise<string> {
    const events = Math.floor(numberOption('events', 1_000_000, 1));
    const dir = mkdtempSync(join(tmpdir(), 'fedsim-bench-viewer-'));
    try {
      const log = join(dir, 'run.jsonl');
      writeSyntheticLog(log, events);
      const html = join(dir, 'viewer.html');
      let start = performance.now();
      await viewCommand(log, { out: html, states: false });
      const writeSeconds = (performance.now() - start) / 1000;
      const browser = await launchBrowser();
      const loads: number[] = [];
      let heapMb = 0;
      let arraysMb = 0;
      let rssMb = 0;
      try {
        for (let i = 0; i < LOADS; i++) {
          const page = await browser.newPage({ viewport: { width: 1400, height: 850 } });
          start = performance.now();
          await page.goto(pathToFileURL(html).href, { timeout: 600_000 });
          await page.waitForSelector('body[data-ready="1"]', { timeout: 600_000 });
          loads.push((performance.now() - start) / 1000);
          if (i === LOADS - 1) {
            const cdp = await page.context().newCDPSession(page);
            await cdp.send('HeapProfiler.collectGarbage');
            heapMb = (await cdp.send('Runtime.getHeapUsage')).usedSize / 1e6;
            // What the page decoded into typed arrays: 17 bytes per event, 61 per message (+1 derived).
            const counts = await page.evaluate(() => (globalThis as unknown as PageGlobals).fedsimView.events);
            arraysMb = (counts * 17 + (counts / 2) * 62) / 1e6;
            // Chromium's processes are this process's descendants (playwright starts them).
            rssMb = treeRssMb(process.pid) - process.memoryUsage().rss / 2 ** 20;
          }
          if (i < LOADS - 1) await page.close();
        }
      } finally {
        await browser.close();
      }
      const rows = [
        ['events', events.toLocaleString('en-US')],
        ['log size', `${(statSync(log).size / 1e6).toFixed(1)} MB`],
        ['`fedsim view --no-states` (read the log, write the page)', `${writeSeconds.toFixed(1)} s`],
        ['page size', `${(statSync(html).size / 1e6).toFixed(1)} MB`],
        [`page load to usable, median of ${LOADS}`, `${median(loads).toFixed(1)} s (${loads.map((s) => s.toFixed(1)).join(', ')})`],
        ['JS heap after GC', `${heapMb.toFixed(0)} MB`],
        ['typed arrays (outside the JS heap)', `≈ ${arraysMb.toFixed(0)} MB`],
        ['all chromium processes, resident', `${rssMb.toFixed(0)} MB`],
      ];
      return ['| | |', '|---|---|', ...rows.map(([k, v]) => `| ${k} | ${v} |`)].join('\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
