/**
 * Reading one project file: `.coffer` (dotenv syntax: `project=consilio`, optional `env=dev`,
 * `allow_env_names=NODE_OPTIONS,JAVA_TOOL_OPTIONS`) or `coffer.yaml` / `coffer.yml` (top-level
 * `project: consilio`, `env: dev`, `allow_env_names: NODE_OPTIONS, JAVA_TOOL_OPTIONS` lines).
 *
 * Text in, settings out: every name is validated here (INVALID_ARGUMENT naming the file), so
 * each front end gets the same settings from the same file. Only those three keys are read;
 * the rest of a coffer.yaml is the manifest's (core/manifest), and the YAML is not parsed
 * as a whole (a manifest that does not parse still names its project). Which of the settings
 * apply to a command is decided in settings.ts.
 */
import { basename } from 'node:path';
import { parseDotenv } from '../dotenv/parse.js';
import { CofferError } from '../errors.js';
import { isValidSegment, parseEnvironment, parseEnvVarName } from '../paths.js';

/** The names of a project file, in the order they are looked for in each directory. */
export const PROJECT_FILE_NAMES: readonly string[] = ['.coffer', 'coffer.yaml', 'coffer.yml'];

/** The settings of a project file that names its project. */
export interface ProjectConfig {
  project: string;
  env?: string;
  /** Variable names this project's secrets may set although coffer refuses them by default. */
  allowEnvNames?: string[];
  file: string;
}

/** A project file passed over because it names no project. */
export interface ProjectlessFile {
  file: string;
  /** `PROJECT=x` or `Project: x`: the key in another case. */
  otherCase?: string;
  project?: undefined;
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

/** Whether `file` is read as a `.coffer` (dotenv syntax) rather than as YAML. */
function isDotenvFile(file: string): boolean {
  return basename(file) === '.coffer';
}

/**
 * The settings of the project file `file` whose text is `text`: a ProjectConfig, or a
 * ProjectlessFile when it has no project line (a parent's file may name the project). A
 * project, environment or allowed name that is not valid is an INVALID_ARGUMENT naming the
 * file.
 */
export function parseProjectFile(file: string, text: string): ProjectConfig | ProjectlessFile {
  const dotenv = isDotenvFile(file);
  const parsed: Settings = dotenv ? parseDotenv(text) : fromYaml(text);
  const project = parsed.project;
  if (project === undefined) {
    const yamlKey = /^(project)\s*:/im.exec(text)?.[1];
    const otherCase = dotenv
      ? Object.keys(parsed).find((k) => k.toLowerCase() === 'project')
      : yamlKey !== 'project'
        ? yamlKey
        : undefined;
    return { file, ...(otherCase ? { otherCase } : {}) };
  }
  if (!isValidSegment(project)) {
    throw new CofferError('INVALID_ARGUMENT', `${file}: "${project}" is not a valid project name`, {
      hint: 'Project names are lowercase letters, digits, - and _.',
    });
  }
  const allowEnvNames = allowList(file, parsed.allow_env_names);
  return {
    project,
    ...(parsed.env ? { env: parseEnvironment(parsed.env) } : {}),
    ...(allowEnvNames ? { allowEnvNames } : {}),
    file,
  };
}

/** The error for a project file without its project line: names the file and the line. */
export function noProjectLine({ file, otherCase }: ProjectlessFile): CofferError {
  const dotenv = isDotenvFile(file);
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
