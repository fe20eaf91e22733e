/**
 * The one rule for the name a rotation's previous value is injected under during its grace
 * window (`previous:` in coffer.yaml, `coffer rotate --previous-name`): the injection rules'
 * (core/inject), with what this machine allows. Its own module so that the manifest parser
 * applies it without loading the rotation code.
 */
import { type RefusedVariable, refusedNames } from '../inject/check.js';

/**
 * The refusal of a previous name (`--previous-name`, the manifest's `previous:`) by the
 * injection rules (core/inject: NODE_OPTIONS, LD_PRELOAD, ...) unless `allowed` (what this
 * machine allows: the manifest's and the project file's `allow_env_names`, `--allow-env-name`)
 * holds it; undefined when the name may be used. The one rule for previous names: the
 * manifest parser applies it to `previous:` with the same allowed names, so a manifest that
 * `manifest check` accepts is one `rotate` accepts, and `coffer run` injects the previous
 * value under a name allowed so (without the allowance, run and env pull would refuse the
 * whole project while the grace window lasts).
 */
export function refusedPreviousName(
  secretPath: string,
  previousName: string,
  allowed: readonly string[] = [],
): RefusedVariable | undefined {
  return refusedNames([{ name: previousName, path: secretPath }], allowed)[0];
}
