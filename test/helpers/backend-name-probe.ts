/**
 * Run as a child process by test/runtime-backend-name.test.ts: in a fresh process
 * (tfjs has chosen no backend yet), loads the modules in the order given on the
 * command line, creates Simulations and prints what their headers name, as JSON.
 *
 *   node --import tsx test/helpers/backend-name-probe.ts codec,backend [--switch-to wasm]
 */
const order = (process.argv[2] ?? 'codec,backend').split(',');
const modules: Record<string, string> = {
  codec: '../../src/messages/tensor-codec.js',
  backend: '../../src/runtime/backend.js',
  pointers: '../../src/pointers/simulation.js',
};
for (const name of order) await import(modules[name]);
const { SimulationCore } = await import('../../src/runtime/simulation.js');

const first = new SimulationCore({ seed: 1 });
const second = new SimulationCore({ seed: 1 });
const report: Record<string, unknown> = { first: first.log.header.backend, second: second.log.header.backend };
first.close();
second.close();

const switchTo = process.argv.indexOf('--switch-to');
if (switchTo > 0) {
  const { initBackend } = await import('../../src/runtime/backend.js');
  const third = new SimulationCore({ seed: 1 });
  await initBackend(process.argv[switchTo + 1] as 'wasm');
  // Starting the backend must not leave process-wide error handlers behind (the wasm glue adds rethrowing ones).
  report.errorListeners = process.listenerCount('uncaughtException') + process.listenerCount('unhandledRejection');
  try {
    third.close();
    report.closeAfterSwitch = 'ok';
  } catch (error) {
    report.closeAfterSwitch = (error as Error).message;
  }
}
process.stdout.write(JSON.stringify(report) + '\n');
