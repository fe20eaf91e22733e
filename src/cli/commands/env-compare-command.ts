/**
 * `coffer env compare A B`: names missing on either side, and names whose values are equal
 * in both environments (seed 004: production uses different secrets than development).
 * Values are compared inside coffer (core/environments/compare.ts); none is printed.
 */
import type { Command } from 'commander';
import { compareEnvironments } from '../../core/environments/compare.js';
import { CofferError } from '../../core/errors.js';
import { parseEnvironment } from '../../core/paths.js';
import { action, type CommonOptions } from '../action.js';
import { withService } from '../context.js';
import { printJson, writeOut } from '../output.js';
import { resolveProject } from '../project-file.js';

interface CompareOptions extends CommonOptions {
  project?: string;
  failOnSame?: boolean;
}

export function envCompareCommand(env: Command): void {
  env
    .command('compare')
    .description('compare two environments of a project by name; flag equal values')
    .argument('<first>', 'an environment, e.g. dev')
    .argument('<second>', 'another environment, e.g. prod')
    .option('-p, --project <name>', 'project (default: from .coffer or coffer.yaml)')
    .option('--fail-on-same', 'exit 1 when a secret has the same value in both (for CI)')
    .option('--json', 'print {project, envs, onlyInFirst, onlyInSecond, sameValue, different}')
    .addHelpText(
      'after',
      `
Every value is read through the vault (one audit record each) and compared inside coffer;
the output names secrets, never values.

Examples:
  coffer env compare dev prod
  coffer env compare staging prod --project consilio --fail-on-same`,
    )
    .action(
      action<CompareOptions>(async ([first, second], opts, g) => {
        const a = parseEnvironment(first!);
        const b = parseEnvironment(second!);
        const { project } = resolveProject(opts.project);
        const c = await withService(g, (backend) =>
          compareEnvironments(backend, project, a, b),
        ).catch((err: unknown) => {
          throw compareRefusal(err, [a, b], opts.project);
        });
        if (opts.json) {
          printJson(c);
        } else {
          const lines = [`${project}: ${a} and ${b}`];
          const section = (title: string, names: string[]) => {
            if (names.length > 0) lines.push(`${title}:`, ...names.map((n) => `  ${n}`));
          };
          section(`only in ${a}`, c.onlyInFirst);
          section(`only in ${b}`, c.onlyInSecond);
          section(
            `same value in ${a} and ${b} (use different secrets per environment)`,
            c.sameValue,
          );
          lines.push(`${c.different.length} differ, ${c.sameValue.length} the same`);
          writeOut(`${lines.join('\n')}\n`);
        }
        return opts.failOnSame && c.sameValue.length > 0 ? 1 : 0;
      }),
    );
}

/**
 * An environment with nothing to compare, with a hint in this command's terms: the two
 * environments are positional arguments here, not --env.
 */
function compareRefusal(
  err: unknown,
  envs: [string, string],
  project: string | undefined,
): unknown {
  if (!(err instanceof CofferError) || err.code !== 'ENVIRONMENT_NOT_FOUND') return err;
  const retry = err.retryWith;
  const suggested = retry?.suggested;
  const fixed = envs.map((e) => (e === retry?.given && suggested ? suggested : e));
  const flag = project === undefined ? '' : ` --project ${project}`;
  const hint =
    suggested !== undefined
      ? `Compare ${fixed.join(' and ')}: \`coffer env compare ${fixed.join(' ')}${flag}\`.`
      : 'Name two environments the project has: `coffer env compare ENV1 ENV2`; `coffer list project/NAME` shows each secret with its environment.';
  return new CofferError(err.code, err.message, { hint, cause: err });
}
