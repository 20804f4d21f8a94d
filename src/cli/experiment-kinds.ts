/**
 * The experiment kinds the CLI knows. Importing a layer's registration module here
 * makes its `kind:` usable in YAML/JSON scenario files (the scenario layer's
 * built-in `module` kind is always there).
 *
 */
import '../scenario/index.js';
import '../fl/experiments/register.js'; // kind: fedavg
