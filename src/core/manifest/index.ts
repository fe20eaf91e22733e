/**
 * The project manifest, `coffer.yaml`: its model, its schema and its reader.
 */

export { checkManifest, type ManifestCheck, manifestSecrets } from './check.js';
export { manifestEnvExample } from './example.js';
export {
  formatManifestInit,
  guessVariable,
  type InitFrom,
  type InitVariable,
  type ManifestInit,
  manifestFromDotenv,
  manifestFromVault,
} from './init.js';
export {
  findManifestFile,
  loadManifest,
  loadNearestManifest,
  localManifestOptions,
  MANIFEST_NAMES,
} from './load.js';
export {
  DEFAULT_SOURCE_KEY,
  formatSource,
  type Manifest,
  type ManifestVariable,
  type Source,
  sourceFor,
} from './model.js';
export {
  MAX_MANIFEST_BYTES,
  ManifestError,
  type ManifestIssue,
  type ManifestOptions,
  parseManifest,
} from './parse.js';
export { manifestJsonSchema } from './schema.js';
export {
  runSetup,
  type SetupOptions,
  type SetupResult,
  type SetupStepResult,
  type SetupVault,
} from './setup.js';
export {
  DEVELOPMENT_ENVIRONMENTS,
  manifestEnvironment,
  missingOf,
  type PlannedVariable,
  planSetup,
  type SetupState,
  type SetupStep,
} from './setup-plan.js';
