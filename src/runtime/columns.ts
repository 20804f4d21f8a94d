/**
 * Rows of numbers in Float64Array chunks.
 *
 * The in-memory event log keeps millions of rows. In a typed array a row costs a few
 * words and nothing at garbage collection (the collector never scans a typed
 * array's contents), where objects or JS arrays would be traced and copied again and
 * again as the run goes. Rows go into fixed-size chunks, so growing never copies.
 * Every field is a float64: ints up to 2^53 fit exactly, and one array type keeps
 * the hot stores monomorphic.
 */
const CHUNK_BITS = 14;
const CHUNK_ROWS = 1 << CHUNK_BITS;

export class NumberRows {
  /** The chunk `addRow` wrote to last; re-read it after every `addRow`. */
  chunk: Float64Array;
  private readonly chunks: Float64Array[] = [];
  private rows = 0;

  constructor(readonly width: number) {
    this.chunk = this.newChunk();
  }

  get length(): number {
    return this.rows;
  }

  /** Adds a row of zeros and returns the index of its first field in `chunk`. */
  addRow(): number {
    const inChunk = this.rows & (CHUNK_ROWS - 1);
    if (inChunk === 0 && this.rows > 0) this.chunk = this.newChunk();
    this.rows++;
    return inChunk * this.width;
  }

  /** Field `field` of row `row`. */
  get(row: number, field: number): number {
    if (!(row >= 0 && row < this.rows)) throw new RangeError(`row ${row} out of range 0..${this.rows - 1}`);
    return this.chunks[row >>> CHUNK_BITS][(row & (CHUNK_ROWS - 1)) * this.width + field];
  }

  private newChunk(): Float64Array {
    const chunk = new Float64Array(CHUNK_ROWS * this.width);
    this.chunks.push(chunk);
    return chunk;
  }
}
