/**
 * The experiment kinds the CLI knows. Importing a layer's registration module here
 * makes its `kind:` usable in YAML/JSON scenario files (the scenario layer's
 * built-in `module` kind is always there).
 *
 * When the FL layer lands, add its registration (e.g. `import '../fl/experiments/register.js';`
 * for `kind: fedavg`).
 */
import '../scenario/index.js';
