/**
 * The flags of `fedsim trace diurnal`, in a module of their own: the command line
 * declares them at start-up, and the generator (./trace.js, which loads the device
 * layer) is imported only when the command runs.
 */

/** The generator's parameters and the flag that sets each (kebab-case of the field). */
export const DIURNAL_FLAGS = [
  'nightStartHour',
  'nightStartJitterHours',
  'nightHours',
  'nightHoursSigma',
  'nightProbability',
  'daySessions',
  'daySessionMinutes',
  'timeZoneSpreadHours',
] as const;
export const flagOf = (field: string) => `--${field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
