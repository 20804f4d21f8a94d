/**
 * Names (actor ids, message types) stored once each and referred to by number, so
 * the message table can keep them in its rows of numbers.
 */
export class NameTable {
  private readonly names: string[] = [];
  private readonly indexOf = new Map<string, number>();

  at(index: number): string {
    return this.names[index];
  }

  index(name: string): number {
    let index = this.indexOf.get(name);
    if (index === undefined) {
      index = this.names.length;
      this.names.push(name);
      this.indexOf.set(name, index);
    }
    return index;
  }

  /** A lookup that remembers its last answer: a string compare instead of a hash probe when the name repeats. */
  lookup(): { index(name: string): number } {
    let lastName: string | undefined;
    let lastIndex = -1;
    return {
      index: (name) => {
        if (name !== lastName) {
          lastIndex = this.index(name);
          lastName = name;
        }
        return lastIndex;
      },
    };
  }
}
