/**
 * What the `coffer env` commands (and `coffer export`) read: a file or stdin by one strict
 * UTF-8 rule, an existing .env file, the project and environment of --project / --env, and
 * the descriptions in a .env file's comments. Shared here so the commands need not import
 * each other.
 */
import { commentDescriptions, readDotenvFile } from '../core/dotenv/index.js';
import { CofferError } from '../core/errors.js';
import { READ_LIMITS, readFileLimited } from '../core/read-limited.js';
import { decodeUtf8 } from '../core/utf8.js';
import { envOf } from './env-option.js';
import { readStdinRest, STDIN_DOTENV, stdinIsTerminal } from './input.js';
import { resolveProject } from './project-file.js';

/** The bytes of FILE, or an IO_ERROR naming it. */
function readBytes(file: string): Buffer {
  return readFileLimited(file, READ_LIMITS.dotenv, 'a .env file');
}

/**
 * Reads FILE, or stdin for `-` / no argument. Both are decoded by one rule (core/utf8.ts):
 * invalid UTF-8 is refused with its line, never turned into U+FFFD and stored. No argument
 * with stdin on a terminal is refused (`command` names the command and its usual file):
 * waiting there for typed input, with no prompt, looks like a hang. `-` still reads the
 * terminal, as asked.
 */
export async function readInput(
  file: string | undefined,
  command?: { name: string; example: string },
): Promise<string> {
  if (file === undefined && command !== undefined && stdinIsTerminal()) {
    throw new CofferError('USAGE', `${command.name} needs a file or piped input`, {
      hint: `Pass the file (\`${command.name} ${command.example}\`) or pipe it (\`${command.name} < ${command.example}\`); - reads what you type, up to Ctrl-D.`,
    });
  }
  if (file === undefined || file === '-') return readStdinRest('input', true, STDIN_DOTENV);
  return decodeUtf8(readBytes(file), file);
}

/**
 * The text of a .env file, or '' when it does not exist yet. Strict too: rewriting a file
 * decoded leniently would replace its invalid bytes with U+FFFD on lines coffer does not own.
 */
export function readEnvFile(file: string): string {
  return readDotenvFile(file);
}

/** The project and environment for commands that take --project / --env. */
export function projectAndEnv(opts: { project?: string; env?: string }): {
  project: string;
  env: string;
} {
  const { project } = resolveProject(opts.project);
  return { project, env: envOf(opts, project) };
}

/** The description of each variable from the comments above it (core/dotenv/comments.ts). */
export function commentsAbove(text: string): Map<string, string> {
  return commentDescriptions(text);
}
