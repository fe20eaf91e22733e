/**
 * `coffer env compare A B`: names missing on either side, and names whose values are equal
 * in both environments (seed 004: production uses different secrets than development).
 * Values are compared inside coffer (core/environments/compare.ts); none is printed.
 */
import type { Command } from 'commander';
import { compareEnvironments } from '../../core/environments/compare.js';
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
        const c = await withService(g, (backend) => compareEnvironments(backend, project, a, b));
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
