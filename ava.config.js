// ava's settings (a file rather than package.json's "ava" field: the order below is a function).
//
// ava runs as many test files at a time as there are CPUs, in the order given here. A long file
// that starts last keeps the run going after everything else has finished, so the files that
// take longest start first — those that start processes that wait on each other (the `fedsim`
// command, nats-server, chromium) or build the package. The list is about wall time only: a file
// missing from it, or one that became quick, changes nothing but when it starts. Re-rank it from
// `/usr/bin/time -f '%e' npx ava test/<file>.test.ts` when the suite's end drags.
const LONG_FIRST = [
  'test/package.test.ts', // with FEDSIM_PACKAGE_TEST=1 (CI): packs, installs and runs the package
  'test/nats-training-runs.test.ts',
  'test/checkpoint-resume.test.ts',
  'test/nats-live-fl-clients.test.ts',
  'test/nats-live-fl-replay.test.ts',
  'test/viewer-stale-update.test.ts',
  'test/nats-training-cli.test.ts',
  'test/cli-usage-errors.test.ts',
  'test/cli-output-guard.test.ts',
  'test/nats-training-refusals.test.ts',
  'test/cli-outputs-and-replay.test.ts',
  'test/fl-parallel-cli.test.ts',
  'test/viewer-million-events.test.ts',
  'test/nats-live-cli.test.ts',
  'test/cli-fused-dense-replay.test.ts',
  'test/viewer-cli.test.ts',
  'test/nats-live-lost-request.test.ts',
  'test/viewer-many-actors.test.ts',
];

/** Position in LONG_FIRST; files not in it after all of those. */
const rank = (file) => {
  const at = LONG_FIRST.findIndex((name) => file.endsWith(name));
  return at < 0 ? LONG_FIRST.length : at;
};

export default {
  files: ['test/**/*.test.ts'],
  extensions: { ts: 'module' },
  nodeArguments: ['--import=tsx', '--conditions=fedsim-source'],
  workerThreads: false,
  timeout: '5m',
  sortTestFiles: (a, b) => rank(a) - rank(b) || a.localeCompare(b, [], { numeric: true }),
};
