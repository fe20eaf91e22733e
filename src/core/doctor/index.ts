/**
 * `coffer doctor`: seed 004's security checklist as checks with stable ids, evidence (names,
 * never values) and fixes. See docs/doctor.md for the list.
 */
export { type Cost, DoctorContext, type DoctorOptions } from './context.js';
export { applyFix, CHECKS, doctorExitCode, runDoctor, safeFixes } from './run.js';
export { doctorSarif } from './sarif.js';
export {
  CATEGORIES,
  type Category,
  type Check,
  type CheckOutcome,
  type CheckResult,
  type CheckStatus,
  type DoctorReport,
  type Evidence,
  type Fix,
  type Severity,
  type Unread,
  unread,
} from './types.js';
