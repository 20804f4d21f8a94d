/**
 * The `devices:` block of an experiment file (zod, strict):
 *
 *   devices:
 *     profiles:                                   # each field a number or a distribution (distributions.ts)
 *       samplesPerSecond: { kind: lognormal, median: 50, sigma: 0.8 }
 *       uploadBytesPerSecond: { kind: tiers, tiers: [{ value: 125000, weight: 3 }, { value: 2500000, weight: 1 }] }
 *       downloadBytesPerSecond: 2500000
 *       latencyMs: { kind: uniform, min: 20, max: 200 }
 *     # or profiles: { file: traces/phones.csv, latencyMs: 50 }   (fields beside `file` are defaults)
 *     availability: { file: traces/diurnal-100x2d.json }          # JSON, or an id,start,end CSV
 *     # or availability: { diurnal: { days: 7, nightProbability: 0.7 } }
 *
 * A profile field given nowhere costs nothing (speeds ∞, latency 0): a run that gives only
 * samplesPerSecond models compute alone. Without `availability` every client is always online.
 */
import { z } from 'zod';
import { DiurnalSettingsSchema } from './diurnal.js';
import { distributionSchema } from './distributions.js';
import { POSITIVE_FIELDS, PROFILE_FIELDS, type ProfileField } from './device-profiles.js';

const extraClients = z.enum(['refuse', 'ignore']);

const profileFieldSchemas = Object.fromEntries(PROFILE_FIELDS.map((field) => [field, distributionSchema(POSITIVE_FIELDS.has(field)).optional()])) as {
  [F in ProfileField]: z.ZodOptional<ReturnType<typeof distributionSchema>>;
};

export const ProfileSettingsSchema = z
  .object({
    /** A trace file (JSON or profile CSV) relative to the experiment file; the fields below are then defaults for what it lacks. */
    file: z.string().min(1).optional(),
    /** Clients in the file that the run does not have: refused (default), or ignored. */
    extraClients: extraClients.optional(),
    ...profileFieldSchemas,
  })
  .strict()
  .superRefine((settings, ctx) => {
    if (settings.extraClients !== undefined && settings.file === undefined) {
      ctx.addIssue({ code: 'custom', path: ['extraClients'], message: 'expected extraClients only beside `file` (it says what to do with clients of the file that the run lacks)' });
    }
  });

export const AvailabilitySettingsSchema = z
  .object({
    /** A trace file (JSON, or an id,start,end CSV) relative to the experiment file. */
    file: z.string().min(1).optional(),
    /** A synthetic diurnal trace drawn from the run's `devices/diurnal` stream instead. */
    diurnal: DiurnalSettingsSchema.optional(),
    /** Clients of the run the file does not list: refused (default), always online, or never online. */
    missing: z.enum(['refuse', 'always-online', 'never-online']).optional(),
    /** Clients of the file the run does not have: refused (default), or ignored. */
    extraClients: extraClients.optional(),
  })
  .strict()
  .superRefine((settings, ctx) => {
    if ((settings.file === undefined) === (settings.diurnal === undefined)) {
      ctx.addIssue({ code: 'custom', path: [], message: 'expected either `file` (a trace) or `diurnal` (a generated trace), exactly one' });
    }
    for (const field of ['missing', 'extraClients'] as const) {
      if (settings[field] !== undefined && settings.file === undefined) {
        ctx.addIssue({ code: 'custom', path: [field], message: `expected ${field} only beside \`file\`` });
      }
    }
  });

export const DevicesSettingsSchema = z
  .object({
    profiles: ProfileSettingsSchema.optional(),
    availability: AvailabilitySettingsSchema.optional(),
  })
  .strict();
export type DevicesSettings = z.output<typeof DevicesSettingsSchema>;
export type DevicesSettingsInput = z.input<typeof DevicesSettingsSchema>;
