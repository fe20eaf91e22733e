/**
 * Finds the project a directory belongs to, so `coffer run -- npm start` needs no flags:
 * the nearest `.coffer` (dotenv syntax: `project=consilio`, optional `env=dev`) or
 * `coffer.yaml` (a top-level `project: consilio` line) in the current directory or a parent.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseDotenv } from '../core/dotenv/index.js';
import { CofferError } from '../core/errors.js';
import { isValidSegment, parseEnvironment } from '../core/paths.js';

export interface ProjectConfig {
  project: string;
  env?: string;
  file: string;
}

function fromYaml(text: string): { project?: string; env?: string } {
  const out: { project?: string; env?: string } = {};
  for (const line of text.split(/\r?\n/)) {
    const m = /^(project|env):\s*['"]?([A-Za-z0-9_-]+)['"]?\s*(?:#.*)?$/.exec(line);
    if (m) out[m[1] as 'project' | 'env'] = m[2]!;
  }
  return out;
}

/** The nearest project file's settings, or undefined when there is none. */
export function findProjectConfig(start: string = process.cwd()): ProjectConfig | undefined {
  let dir = start;
  for (;;) {
    for (const name of ['.coffer', 'coffer.yaml', 'coffer.yml']) {
      const file = join(dir, name);
      if (!existsSync(file)) continue;
      const text = readFileSync(file, 'utf8');
      const parsed = name === '.coffer' ? parseDotenv(text) : fromYaml(text);
      const project = parsed.project;
      if (project === undefined) continue;
      if (!isValidSegment(project)) {
        throw new CofferError(
          'INVALID_ARGUMENT',
          `${file}: "${project}" is not a valid project name`,
          {
            hint: 'Project names are lowercase letters, digits, - and _.',
          },
        );
      }
      return { project, ...(parsed.env ? { env: parseEnvironment(parsed.env) } : {}), file };
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** The project from --project, or the project file; a usage error when neither exists. */
export function resolveProject(flag: string | undefined): { project: string; env?: string } {
  if (flag !== undefined) return { project: flag };
  const found = findProjectConfig();
  if (found === undefined) {
    throw new CofferError('USAGE', 'no project given and no .coffer or coffer.yaml file found', {
      hint: 'Pass --project NAME, or create a .coffer file containing: project=NAME',
    });
  }
  return found;
}
