/**
 * `fedsim replay` memory against log size (issue #14): the log is checked and then
 * streamed, and the re-executed run keeps no log of its own, so the peak resident
 * memory of a replay should not grow with the log. For comparison, the same replay
 * done the old way (the whole file read into a string, split into lines and parsed,
 * and the run's own log kept in memory) is measured on the same logs.
 *
 *   npm run bench -- replay                                  # 26 MB, 260 MB and 2.1 GB logs
 *   npx tsx bench/replay-memory.ts --rallies 20000,200000    # chosen sizes only
 *
 * Logs are ping-pong runs (scenarios/ping-pong.ts, one round of N rallies per pair:
 * about 8 event lines per rally) written to a temporary directory and deleted after.
 * Each replay runs in its own process; its peak RSS is read from /usr/bin/time. Peak RSS
 * includes memory V8 has freed but not returned and the wasm backend's heap; the live
 * heap after a full GC (sampled every 200,000 events in a separate run of the same
 * replay) shows what the replay actually holds.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'fedsim.js');
const SELF = fileURLToPath(import.meta.url);
const DEFAULT_RALLIES = [20_000, 200_000, 1_600_000];

interface Sample {
  seconds: number;
  maxRssMb: number;
  ok: boolean;
  note: string;
}

/** Runs a command under /usr/bin/time and reads its peak RSS and wall time. */
function timed(command: string[]): Sample {
  const result = spawnSync('/usr/bin/time', ['-f', '@@%M %e', ...command], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, NO_COLOR: '1' } });
  const stats = /@@(\d+) ([\d.]+)/.exec(result.stderr);
  if (!stats) throw new Error(`no timing for ${command.join(' ')}: ${result.stderr.slice(-500)}`);
  // The reason a command failed: its last error line (not /usr/bin/time's own "Command exited…" line).
  const out = `${result.stdout}\n${result.stderr.replace(/@@.*/, '')}`.split('\n').filter((l) => l.trim() && !l.startsWith('Command exited'));
  const lastLine = out.filter((l) => /Error|Cannot/.test(l)).at(-1) ?? out.at(-1) ?? '';
  return { seconds: Number(stats[2]), maxRssMb: Number(stats[1]) / 1024, ok: result.status === 0, note: result.status === 0 ? '' : lastLine.slice(0, 120) };
}

/** Child: records a ping-pong log of `rallies` rallies per pair, keeping no log in memory. */
async function record(path: string, rallies: number): Promise<void> {
  const { initBackend } = await import('../src/runtime/backend.js');
  await initBackend(); // the backend `fedsim replay` will start from the header
  const { loadScenario, runScenario } = await import('../src/scenario/index.js');
  const scenario = await loadScenario(join(ROOT, 'scenarios', 'ping-pong.ts'));
  const outcome = await runScenario(scenario, { record: path, keepLog: false, params: { rounds: 1, rallies } });
  if (outcome.error) throw outcome.error;
}

/**
 * Child (run with --expose-gc): the replay `fedsim replay` does — scan, then stream — with the
 * live heap measured after a full GC every 200,000 events; prints the largest, in bytes.
 */
async function replayLiveHeap(path: string): Promise<void> {
  const { initBackend } = await import('../src/runtime/backend.js');
  const { openLogStream, scanLog } = await import('../src/runtime/index.js');
  const { loadScenario, runScenario } = await import('../src/scenario/index.js');
  const gc = (globalThis as { gc?: () => void }).gc!;
  const summary = scanLog(path);
  await initBackend(summary.header.backend.split(' ')[0] as 'wasm');
  const scenario = await loadScenario(join(ROOT, String(summary.header.scenario?.path)));
  let peak = 0;
  const sample = () => {
    gc();
    peak = Math.max(peak, process.memoryUsage().heapUsed);
  };
  sample();
  const outcome = await runScenario(scenario, {
    seed: summary.header.seed,
    params: summary.header.scenario?.params as Record<string, unknown>,
    header: summary.header.scenario,
    verify: openLogStream(path),
    keepLog: false,
    onSimulation: (sim) => {
      let events = 0;
      sim.events$.subscribe(() => {
        if (++events % 200_000 === 0) sample();
      });
    },
  });
  if (outcome.error) throw outcome.error;
  sample();
  console.log(`@@heap ${peak}`);
}

/** Child: the replay as it was before streaming — the whole log in memory, and the run's own log too. */
async function replayWhole(path: string): Promise<void> {
  const { initBackend } = await import('../src/runtime/backend.js');
  const { readLog } = await import('../src/runtime/index.js');
  const { loadScenario, runScenario } = await import('../src/scenario/index.js');
  const log = readLog(path);
  await initBackend(log.header.backend.split(' ')[0] as 'wasm');
  const scenario = await loadScenario(join(ROOT, String(log.header.scenario?.path)));
  const outcome = await runScenario(scenario, { seed: log.header.seed, params: log.header.scenario?.params as Record<string, unknown>, verify: log, header: log.header.scenario });
  if (outcome.error) throw outcome.error;
}

async function main(): Promise<string> {
  const arg = process.argv.indexOf('--rallies');
  const sizes = arg > 0 ? process.argv[arg + 1].split(',').map(Number) : DEFAULT_RALLIES;
  const dir = mkdtempSync(join(tmpdir(), 'fedsim-replay-bench-'));
  const rows = [
    '| log | event lines | `fedsim replay` (streamed): peak RSS | time | live heap after GC (max) | whole file in memory (before): peak RSS | time |',
    '|---|---:|---:|---:|---:|---:|---:|',
  ];
  try {
    for (const rallies of sizes) {
      process.stderr.write(`recording ping-pong with ${rallies} rallies per pair…\n`);
      const log = join(dir, `ping-pong-${rallies}.jsonl`);
      execFileSync(process.execPath, ['--import', 'tsx', SELF, '--child-record', log, String(rallies)], { cwd: ROOT, stdio: 'inherit' });
      const bytes = statSync(log).size;
      const lines = Number(execFileSync('wc', ['-l', log], { encoding: 'utf8' }).trim().split(/\s+/)[0]);
      const streamed = timed([process.execPath, BIN, 'replay', log, '-q']);
      if (!streamed.ok) throw new Error(`fedsim replay failed on ${log}: ${streamed.note}`);
      const heap = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', SELF, '--child-heap', log], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20 });
      const liveHeapMb = Number(/@@heap (\d+)/.exec(heap)![1]) / 2 ** 20;
      const whole = timed([process.execPath, '--import', 'tsx', SELF, '--child-whole', log]);
      const mb = (x: number) => `${Math.round(x)} MB`;
      rows.push(
        `| ${(bytes / 1e6).toFixed(bytes < 1e8 ? 1 : 0)} MB | ${(lines - 1).toLocaleString('en-US')} | ${mb(streamed.maxRssMb)} | ${streamed.seconds.toFixed(1)} s | ${mb(liveHeapMb)} | ` +
          (whole.ok ? `${mb(whole.maxRssMb)} | ${whole.seconds.toFixed(1)} s |` : `fails at ${mb(whole.maxRssMb)}: ${whole.note.replace(/\|/g, '\\|')} | ${whole.seconds.toFixed(1)} s |`),
      );
      rmSync(log);
      process.stderr.write(`${rows.at(-1)}\n`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows.join('\n');
}

export const benchmark = { name: 'replay', title: 'Replay memory against log size (issue #14)', run: main };

const child = process.argv.findIndex((a) => a === '--child-record' || a === '--child-whole' || a === '--child-heap');
if (child > 0) {
  const path = process.argv[child + 1];
  if (process.argv[child] === '--child-record') await record(path, Number(process.argv[child + 2]));
  else if (process.argv[child] === '--child-heap') await replayLiveHeap(path);
  else await replayWhole(path);
} else if (process.argv[1] === SELF) {
  console.log(await main());
}
