export { formatDuration, parseDuration, readDuration } from './duration.js';
export { type GraceValue, graceValues } from './grace.js';
export {
  type FilePlace,
  type ProgramPlace,
  recordFileWrite,
  runPurpose,
  type ValuePlaces,
  valuePlaces,
  type WrittenSecret,
  writtenUnder,
} from './places.js';
export {
  formatRotationPolicy,
  parseRotationPolicy,
  type RotationPolicy,
  readRotationPolicy,
} from './policy.js';
export { refusedPreviousName } from './previous-name.js';
export {
  assertPreviousName,
  type FinishResult,
  finishRotation,
  planRotation,
  type RotateOptions,
  type RotateResult,
  type RotationKind,
  type RotationPlan,
  retiredVersions,
  rotateSecret,
} from './rotate.js';
export {
  classifySecret,
  ROTATION_STATES,
  type RotationState,
  type RotationStatusItem,
  type RotationStatusOptions,
  type RotationStatusReport,
  rotationStatus,
} from './status.js';
