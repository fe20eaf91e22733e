/**
 * Putting secrets into other programs: which names may be injected (names.ts, check.ts),
 * which of coffer's own variables a child never inherits (child-env.ts), and the environment
 * of `coffer run` (run-env.ts). See docs/injection.md.
 */
export {
  type AllowedNames,
  assertInjectableNames,
  assertInjectableNamesAudited,
  type InjectedName,
  type NameRefusalAudit,
  type RefusedVariable,
  recordRefusedNames,
  refusedNames,
} from './check.js';
export { CREDENTIAL_ENV_NAMES, childEnvironment, parsePassEnv } from './child-env.js';
export { REFUSED_ENV_NAMES, type RefusedName, refusedEnvName } from './names.js';
export {
  type RunEnvironment,
  type RunEnvironmentOptions,
  type RunSecret,
  runEnvironment,
} from './run-env.js';
