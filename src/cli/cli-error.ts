/**
 * Exit codes and the error that carries one.
 *
 *   0  success (run: every check held; replay: the run matched; diff: identical)
 *   1  the thing checked failed (a check, a divergence, a difference, a failing seed)
 *   2  usage: unknown flag, bad value, missing or invalid file
 */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

export class CliError extends Error {
  override name = 'CliError';
  constructor(message: string, readonly exitCode = EXIT_USAGE) {
    super(message);
  }
}
