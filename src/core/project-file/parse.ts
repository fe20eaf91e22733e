/**
 * Reading one project file: `.coffer` (dotenv syntax: `project=consilio`, optional `env=dev`,
 * `allow_env_names=NODE_OPTIONS,JAVA_TOOL_OPTIONS`) or `coffer.yaml` / `coffer.yml` (top-level
 * `project: consilio`, `env: dev` and `allow_env_names: NODE_OPTIONS, JAVA_TOOL_OPTIONS`, also
 * as a list).
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

const NAME_ITEM = /^['"]?([A-Za-z0-9_]*)['"]?$/;

/**
 * The top-level `project:`, `env:` and `allow_env_names:` of a coffer.yaml. The allowed
 * names may be written as the manifest reader takes them (core/manifest parses the YAML):
 * `A, B`, a flow list `[A, B]` on the line, or a block list of `- A` lines under the key.
 * Any other form is refused naming the file, never read as "no names": the manifest would
 * then allow a name that `run` refuses.
 */
function fromYaml(file: string, text: string): Settings {
  const out: Settings = {};
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const m = /^(project|env):\s*['"]?([A-Za-z0-9_-]+)['"]?\s*(?:#.*)?$/.exec(line);
    if (m) out[m[1] as 'project' | 'env'] = m[2]!;
    const a = /^allow_env_names:[ \t]*(.*?)[ \t]*(?:#.*)?$/.exec(line);
    if (!a) continue;
    let value = a[1]!;
    if (value === '') {
      // A block list: the indented `- NAME` lines that follow (blank and comment lines allowed).
      const items: string[] = [];
      for (; i + 1 < lines.length; i++) {
        const next = lines[i + 1]!;
        if (/^\s*(?:#.*)?$/.test(next)) continue;
        const item = /^\s+-[ \t]+(.*?)[ \t]*(?:#.*)?$/.exec(next);
        if (!item) break;
        items.push(item[1]!);
      }
      value = items.join(',');
    } else if (value.startsWith('[') && value.endsWith(']')) value = value.slice(1, -1);
    else if (/^(['"]).*\1$/.test(value)) value = value.slice(1, -1);
    const names = value.split(/[\s,]+/).filter((n) => n !== '');
    const bad = names.find((n) => !NAME_ITEM.test(n));
    if (bad !== undefined) {
      throw new CofferError(
        'INVALID_ARGUMENT',
        `${file}: allow_env_names: cannot read ${JSON.stringify(bad.slice(0, 60))} as a variable name`,
        {
          hint: 'Write the names as allow_env_names: NODE_OPTIONS, JAVA_TOOL_OPTIONS, as a [NODE_OPTIONS, JAVA_TOOL_OPTIONS] list, or as "- NODE_OPTIONS" lines under the key.',
        },
      );
    }
    out.allow_env_names = names.map((n) => NAME_ITEM.exec(n)![1]!).join(',');
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
  const parsed: Settings = dotenv ? parseDotenv(text) : fromYaml(file, text);
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
