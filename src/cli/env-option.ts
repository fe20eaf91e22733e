/**
 * The environment a command works in: `--env`, then COFFER_ENV, then `dev`.
 */
import { parseEnvironment } from '../core/paths.js';

/** The environment for a command: --env, then COFFER_ENV, then `dev`. */
export function envOf(opts: { env?: string }): string {
  return parseEnvironment(opts.env ?? process.env.COFFER_ENV ?? 'dev');
}
