/**
 * The progress display: a cli-progress bar on a terminal, plain lines otherwise
 * (CI logs, pipes). It is an RxJS observer of the scenario's `ctx.progress`
 * updates; it reads nothing from the simulation, so it cannot change a run.
 */
import cliProgress from 'cli-progress';
import type { Observer } from 'rxjs';
import type { ProgressUpdate } from '../scenario/index.js';

export interface ProgressDisplay extends Observer<ProgressUpdate> {
  /** Clears the bar (before printing something else). */
  stop(): void;
}

export function progressDisplay(title: string, stream: NodeJS.WriteStream = process.stderr, quiet = false): ProgressDisplay {
  if (quiet) return { next() {}, error() {}, complete() {}, stop() {} };
  return stream.isTTY ? barDisplay(title, stream) : lineDisplay(title, stream);
}

function barDisplay(title: string, stream: NodeJS.WriteStream): ProgressDisplay {
  const bar = new cliProgress.SingleBar(
    { format: `${title} {bar} {percentage}% │ {label}`, stream, hideCursor: true, clearOnComplete: true, barsize: 30 },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  const stop = () => {
    if (started) bar.stop();
    started = false;
  };
  return {
    next({ label, fraction }) {
      const value = Math.round(fraction * 1000);
      if (!started) {
        bar.start(1000, value, { label });
        started = true;
      } else bar.update(value, { label });
    },
    error: stop,
    complete: stop,
    stop,
  };
}

/** Without a terminal: a line each time another tenth is done, so logs stay short however many updates come. */
function lineDisplay(title: string, stream: NodeJS.WriteStream): ProgressDisplay {
  let lastTenth = -1;
  return {
    next({ label, fraction }) {
      const tenth = Math.floor(fraction * 10);
      if (tenth === lastTenth) return;
      lastTenth = tenth;
      stream.write(`${title} ${String(Math.round(fraction * 100)).padStart(3)}%  ${label}\n`);
    },
    error() {},
    complete() {},
    stop() {},
  };
}
