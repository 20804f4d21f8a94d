/** Devices on virtual time: profiles, availability, trace files and the cost model (docs/devices.md). */
export type { Availability, DevicePopulation, DeviceProfile } from './population.js';
export { fitDurationMs, trainingMs, transferMs, type FitWork } from './fit-duration.js';
export { type Distribution, distributionSchema, samplerOf } from './distributions.js';
export { DeviceProfiles, drawProfiles, PROFILE_FIELDS, profileStreamName, type ProfileField, type ProfileSpec, type RngSource } from './device-profiles.js';
export { AvailabilityBuilder, IntervalAvailability } from './availability.js';
export { ArrayDevicePopulation, devicePopulationFrom } from './device-population.js';
export { AvailabilitySettingsSchema, DevicesSettingsSchema, ProfileSettingsSchema, type DevicesSettings, type DevicesSettingsInput } from './devices-settings.js';
export { DIURNAL_STREAM, DiurnalSettingsSchema, generateDiurnal, nextDiurnalClient, type DiurnalSettings } from './diurnal.js';
export { convertFedScale, FEDSCALE_AUGMENTATION_FACTOR, type FedScaleInput, type FedScaleOptions } from './fedscale.js';
export { readDeviceTrace, parseCsvTrace, parseJsonTrace, type DeviceTrace, type TraceEntry } from './device-trace.js';
export { DeviceTraceError } from './trace-errors.js';
export { DeviceTraceFileSchema, TRACE_FORMAT, TRACE_VERSION, type DeviceTraceFile, type TraceClient } from './trace-format.js';
export { traceLines, writeTraceFile } from './trace-writer.js';
