/**
 * Finds the project a directory belongs to, so `coffer run -- npm start` needs no flags:
 * the nearest `.coffer` (dotenv syntax: `project=consilio`, optional `env=dev`) or
 * `coffer.yaml` (a top-level `project: consilio` line) in the current directory or a parent.
 *
 * `allow_env_names` (`.coffer`: `allow_env_names=NODE_OPTIONS,JAVA_TOOL_OPTIONS`; coffer.yaml:
 * `allow_env_names: NODE_OPTIONS, JAVA_TOOL_OPTIONS`) lets this project's secrets set
 * variables coffer otherwise refuses to inject (core/inject/names.ts). It is local
 * configuration, read from this machine's files, and applies only to the project the file
 * names; nothing in the vault can allow a name.
 */
import { statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parseDotenv } from '../core/dotenv/parse.js';
import { CofferError } from '../core/errors.js';
import {
  isValidSegment,
  parseEnvironment,
  parseEnvVarName,
  parseProjectName,
} from '../core/paths.js';
import { READ_LIMITS, readRegularFileLimited } from '../core/read-limited.js';
import { decodeUtf8 } from '../core/utf8.js';

export interface ProjectConfig {
  project: string;
  env?: string;
  /** Variable names this project's secrets may set although coffer refuses them by default. */
  allowEnvNames?: string[];
  file: string;
}

interface Settings {
  project?: string;
  env?: string;
  allow_env_names?: string;
}

function fromYaml(text: string): Settings {
  const out: Settings = {};
  for (const line of text.split(/\r?\n/)) {
    const m = /^(project|env):\s*['"]?([A-Za-z0-9_-]+)['"]?\s*(?:#.*)?$/.exec(line);
    if (m) out[m[1] as 'project' | 'env'] = m[2]!;
    const a = /^allow_env_names:\s*['"]?([A-Za-z0-9_, ]*)['"]?\s*(?:#.*)?$/.exec(line);
    if (a) out.allow_env_names = a[1]!;
  }
  return out;
}

function allowList(file: string, text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  return text
    .split(/[\s,]+/)
    .filter((n) => n !== '')
    .map((n) => {
      try {
        return parseEnvVarName(n);
      } catch (err) {
        throw new CofferError(
          'INVALID_ARGUMENT',
          `${file}: allow_env_names: ${(err as Error).message}`,
        );
      }
    });
}

/** A project file passed over because it names no project. */
export interface ProjectlessFile {
  file: string;
  /** `PROJECT=x` or `Project: x`: the key in another case. */
  otherCase?: string;
}

/**
 * The nearest project file's settings, or undefined when there is none. Files that name no
 * project are passed over (a parent's file may name it) and listed in `projectless`.
 */
export function findProjectConfig(
  start: string = process.cwd(),
  projectless: ProjectlessFile[] = [],
): ProjectConfig | undefined {
  let dir = start;
  for (;;) {
    for (const name of ['.coffer', 'coffer.yaml', 'coffer.yml']) {
      const file = join(dir, name);
      // ~/.coffer is the default COFFER_HOME, a directory: not a project file. Nor is a FIFO
      // or a device, which is never read (nothing may ever write to it).
      if (!statSync(file, { throwIfNoEntry: false })?.isFile()) continue;
      const bytes = readRegularFileLimited(file, READ_LIMITS.projectFile, 'a project file');
      if (bytes === undefined) continue;
      const text = decodeUtf8(bytes, file);
      const parsed: Settings = name === '.coffer' ? parseDotenv(text) : fromYaml(text);
      const project = parsed.project;
      if (project === undefined) {
        const yamlKey = /^(project)\s*:/im.exec(text)?.[1];
        const otherCase =
          name === '.coffer'
            ? Object.keys(parsed).find((k) => k.toLowerCase() === 'project')
            : yamlKey !== 'project'
              ? yamlKey
              : undefined;
        projectless.push({ file, ...(otherCase ? { otherCase } : {}) });
        continue;
      }
      if (!isValidSegment(project)) {
        throw new CofferError(
          'INVALID_ARGUMENT',
          `${file}: "${project}" is not a valid project name`,
          {
            hint: 'Project names are lowercase letters, digits, - and _.',
          },
        );
      }
      const allowEnvNames = allowList(file, parsed.allow_env_names);
      return {
        project,
        ...(parsed.env ? { env: parseEnvironment(parsed.env) } : {}),
        ...(allowEnvNames ? { allowEnvNames } : {}),
        file,
      };
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** The project from --project, or the project file; a usage error when neither exists. */
export function resolveProject(flag: string | undefined): { project: string; env?: string } {
  if (flag !== undefined) return { project: parseProjectName(flag) };
  const projectless: ProjectlessFile[] = [];
  const found = findProjectConfig(process.cwd(), projectless);
  if (found === undefined) {
    const near = projectless[0];
    if (near !== undefined) throw noProjectLine(near);
    throw new CofferError('USAGE', 'no project given and no .coffer or coffer.yaml file found', {
      hint: 'Pass --project NAME, or create a .coffer file containing: project=NAME',
    });
  }
  return found;
}

/** The error for a project file without its project line: names the file and the line. */
function noProjectLine({ file, otherCase }: ProjectlessFile): CofferError {
  const dotenv = basename(file) === '.coffer';
  const line = dotenv ? 'project=NAME' : 'project: NAME';
  return new CofferError(
    'USAGE',
    `no project given, and ${file} has no ${dotenv ? 'project=' : 'top-level project:'} line`,
    {
      hint:
        (otherCase ? `The key is lowercase: ${otherCase} is not read. ` : '') +
        `Add the line ${line} to ${file} (e.g. ${dotenv ? 'project=consilio' : 'project: consilio'}), or pass --project NAME.`,
    },
  );
}

/**
 * The names allowed for `project` on this machine: the `--allow-env-name` flags, plus the
 * project file's `allow_env_names` when that file is for the same project.
 */
export function allowedEnvNames(project: string, flags: readonly string[] = []): string[] {
  const names = flags.map((n) => parseEnvVarName(n));
  let found: ProjectConfig | undefined;
  try {
    found = findProjectConfig();
  } catch {
    // A broken project file allows nothing; with --project it is not needed otherwise.
    found = undefined;
  }
  if (found?.project === project && found.allowEnvNames) names.push(...found.allowEnvNames);
  return names;
}

/** commander's collector for a repeatable option. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
