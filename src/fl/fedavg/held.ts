/**
 * A box for big values in actor context (data sets, model weights).
 *
 * When a turn fails or an actor crashes, the runtime saves the actor's state with
 * xstate's getPersistedSnapshot, which walks the context with for…in looking for
 * child actors — including every index of every typed array: about 5 s for one
 * client holding MNIST's 60,000 × 784 features. A class with a private field has
 * no enumerable properties, so the walk skips what it holds (and a restored
 * snapshot shares the same, immutable value). Replace a Held, never mutate its value.
 */
export class Held<T> {
  readonly #value: T;

  constructor(value: T) {
    this.#value = value;
  }

  get value(): T {
    return this.#value;
  }
}

export const hold = <T>(value: T): Held<T> => new Held(value);
