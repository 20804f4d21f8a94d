/**
 * A tfjs backend's identity as far as results go — name, version and kernel build, without
 * how it was chosen (which differs between threads and says nothing of the numbers). Two
 * threads whose builds are equal compute the same bits; the pool refuses any other.
 */
import type { BackendDescription } from '../../runtime/backend.js';

export const backendBuild = (b: BackendDescription) => `${b.name} ${b.version} (${b.detail.split(';')[0]})`;
