/**
 * The name of the tensor backend, for log headers.
 *
 * The runtime does not import tfjs (it runs without tensors); the layer that
 * initialises tfjs registers how to read the backend name here.
 */
let describe: () => string = () => 'none';

export function setBackendNameSource(source: () => string): void {
  describe = source;
}

export function backendName(): string {
  return describe();
}
