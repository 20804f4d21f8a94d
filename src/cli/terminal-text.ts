/**
 * User text on the terminal: scenario names, file paths, check messages, what a scenario
 * printed, error messages that quote a file. Such text may hold control characters — a
 * name `"\e[2J\e[31m"` would clear the screen and turn the rest red, a carriage return
 * can overwrite what was printed before it, bidirectional overrides reorder what is
 * shown. So every piece of user text the CLI writes goes through `terminalText`, which
 * shows those characters as escapes (`\x1b`, `\r`, `\u202e`) instead of sending them; the
 * CLI's own colours (style.ts) are added around the result, never inside it.
 */

/** C0 controls, DEL, C1 controls, and the Unicode bidirectional overrides and isolates. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
/** The same without the line feed, for multi-line messages. */
const CONTROL_BUT_NEWLINE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

const NAMED: Record<string, string> = { '\t': '\\t', '\n': '\\n', '\r': '\\r' };

function escape(char: string): string {
  if (NAMED[char]) return NAMED[char];
  const code = char.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * `text` with its control characters shown as escapes. With `{ lines: true }` line feeds
 * are kept (a message of several lines); otherwise they are escaped too (a name, a path,
 * one cell of a table).
 */
export function terminalText(text: string, options: { lines?: boolean } = {}): string {
  return text.replace(options.lines ? CONTROL_BUT_NEWLINE : CONTROL, escape);
}
