/*
 * config/ is the mechanism: the field schemas sections are written with, the composition of the
 * sections every module owns into one file schema, and the loader that reports FILE:LINE:COL and
 * "did you mean". Which sections exist is the composition root's business (src/daemon/config.ts).
 */
export { DurationError, formatDuration, formatDurationNs, parseDuration, parseDurationNs, tryParseDuration } from './duration.js';
export { INTERFACE_NAME, isInterfaceName, parseListenAddress, parseMac, type ListenAddress } from '../net/address.js';
export {
  ALWAYS,
  describe,
  durationField,
  errorText,
  field,
  flagDuplicates,
  httpUrlField,
  interfaceField,
  listenField,
  listenKey,
  macField,
  nonEmptyString,
  originPatternField,
  positiveDuration,
  sha256Field,
  stringList,
  stringOrUndefined,
  targetField,
  tryMac,
  type SectionFields,
} from './fields.js';
export { byteSizeField, parseByteSize, parseRate, rateField } from './units.js';
export { composeConfigSchema, DEFAULT_DATA_DIR, LOG_LEVELS, type LogLevel, type SectionShape, type SectionsBuilder, type SectionSource } from './compose.js';
export {
  ConfigError,
  createConfigLoader,
  DEFAULT_CONFIG_PATH,
  defaultConfigPath,
  formatProblem,
  type ConfigLoader,
  type ConfigProblem,
  type ConfigResult,
} from './load.js';
