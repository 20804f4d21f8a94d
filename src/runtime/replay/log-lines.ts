/**
 * Reading a log file line by line in bounded memory, so that `fedsim replay` of a
 * multi-GB log holds one buffer and one line, never the file.
 *
 * The rules of a fedsim log's lines are checked as they are read, each with an error
 * that says what is wrong and how to fix it: `\n` line ends only (a log that went
 * through a CRLF conversion is named as such), no blank lines (trailing blank lines
 * included), and no line longer than `maxLineChars` (a runaway or foreign file is
 * refused before it fills memory).
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { FedsimError } from '../errors.js';

export class LogFormatError extends FedsimError {
  override name = 'LogFormatError';
}

/**
 * Longest line accepted, in characters (1 MiB). fedsim writes event lines of a few hundred
 * characters (payloads appear only as digests); a mark with a large `data` or a header with
 * a long scripted fault plan can be longer, hence the generous bound. Raise it per call.
 */
export const MAX_LOG_LINE_CHARS = 1 << 20;
const CHUNK_BYTES = 1 << 20;

/** Checks one line of a log (1-based `lineNumber`); `atEnd` when no non-blank line follows. */
export function checkLineShape(line: string, lineNumber: number, source: string, maxLineChars: number, atEnd: () => boolean): void {
  if (line.endsWith('\r')) {
    throw new LogFormatError(
      `${source}, line ${lineNumber}: ends with CRLF (\\r\\n); fedsim logs end lines with \\n only. The file was probably converted to ` +
        `Windows line endings (e.g. by git's core.autocrlf): convert it back (dos2unix ${source}, or sed -i 's/\\r$//' ${source}) and mark *.jsonl as binary or eol=lf in .gitattributes.`,
    );
  }
  if (line.length > maxLineChars) throw tooLong(source, lineNumber, maxLineChars);
  if (line === '') {
    throw new LogFormatError(
      atEnd()
        ? `${source}, line ${lineNumber}: blank lines after the last event; a fedsim log ends with its last event line. Remove the trailing blank lines (something appended them after the run).`
        : `${source}, line ${lineNumber}: a blank line inside the log; every line is the header or one event (the file was edited or two files were joined).`,
    );
  }
}

function tooLong(source: string, lineNumber: number, maxLineChars: number): LogFormatError {
  return new LogFormatError(
    `${source}, line ${lineNumber}: longer than ${maxLineChars.toLocaleString('en-US')} characters, so it is not a fedsim log line (event lines are a few hundred characters). ` +
      'Is this the right file? If a mark really carries that much data, raise the limit: --max-line-chars N (fedsim replay, diff and view take it; in code, the maxLineChars option).',
  );
}

/**
 * The lines of a log file, read forward in chunks. `next()` returns the next line
 * (without its `\n`), or null at the end of the file; the shape rules above are
 * enforced as it goes.
 */
export class LogLineReader {
  /** 1-based number of the line last returned (0 before the first). */
  lineNumber = 0;
  private fd: number | null;
  private readonly buffer: Buffer;
  private readonly decoder = new StringDecoder('utf8');
  /** Text read but not yet returned; lines are cut from `start`. */
  private text = '';
  private start = 0;
  private eof = false;
  /** A blank line waiting to be judged: trailing (only blanks follow) or inside the log. */
  private blankAt = 0;

  constructor(
    readonly path: string,
    readonly source: string = path,
    readonly maxLineChars: number = MAX_LOG_LINE_CHARS,
    /** Bytes read at a time (tests use tiny chunks to cross every boundary). */
    chunkBytes: number = CHUNK_BYTES,
  ) {
    this.buffer = Buffer.allocUnsafe(chunkBytes);
    try {
      this.fd = openSync(path, 'r');
    } catch (error) {
      throw new LogFormatError(`Cannot read log ${source}: ${(error as Error).message}`);
    }
  }

  next(): string | null {
    for (;;) {
      const line = this.rawLine();
      if (line === null) {
        if (this.blankAt) throw this.blankError(true);
        return null;
      }
      this.lineNumber++;
      if (line === '') {
        // Judged when the next non-blank line (or the end) shows which kind of blank it is.
        this.blankAt ||= this.lineNumber;
        continue;
      }
      if (this.blankAt) throw this.blankError(false);
      checkLineShape(line, this.lineNumber, this.source, this.maxLineChars, () => false);
      return line;
    }
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  private blankError(atEnd: boolean): LogFormatError {
    const at = this.blankAt;
    this.blankAt = 0;
    try {
      checkLineShape('', at, this.source, this.maxLineChars, () => atEnd);
    } catch (error) {
      return error as LogFormatError;
    }
    return new LogFormatError(`${this.source}, line ${at}: unexpected blank line`);
  }

  /** The next `\n`-terminated line (or the unterminated last one), or null at the end. */
  private rawLine(): string | null {
    for (;;) {
      const end = this.text.indexOf('\n', this.start);
      if (end >= 0) {
        const line = this.text.slice(this.start, end);
        this.start = end + 1;
        return line;
      }
      if (this.text.length - this.start > this.maxLineChars) throw tooLong(this.source, this.lineNumber + 1, this.maxLineChars);
      if (this.eof) {
        if (this.start >= this.text.length) return null;
        const last = this.text.slice(this.start);
        this.start = this.text.length;
        return last;
      }
      this.fill();
    }
  }

  private fill(): void {
    const bytes = this.fd === null ? 0 : readSync(this.fd, this.buffer, 0, this.buffer.length, null);
    const rest = this.text.slice(this.start);
    this.start = 0;
    if (bytes === 0) {
      this.eof = true;
      this.text = rest + this.decoder.end();
      this.close();
      return;
    }
    this.text = rest + this.decoder.write(this.buffer.subarray(0, bytes));
  }
}
