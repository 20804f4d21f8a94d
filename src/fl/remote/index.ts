/** Remote models (issue #4): compiling models to forward programs and `model.send(worker)`. */
export { sendModel } from './send-model.js';
export { compileForward, describeModel, ProgramBuilder } from './forward-program.js';
