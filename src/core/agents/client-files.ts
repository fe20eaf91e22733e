/**
 * Reading a coding agent's files in a project for `coffer agent setup|check`: its MCP
 * configuration, its settings (JSON, TOML, an ignore file) and its instructions file
 * (AGENTS.md, CLAUDE.md), each under a size cap, so a huge file in a cloned repository is
 * refused by name instead of being read whole, and only a regular file is read: a FIFO or a
 * device is refused without being waited on. What is read is decoded strictly (utf8.ts).
 */
import { existsSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';
import { CofferError } from '../errors.js';
import { READ_LIMITS, readRegularFileLimited } from '../read-limited.js';
import { decodeUtf8 } from '../utf8.js';
import { CLIENTS } from './clients.js';

const INSTRUCTIONS: ReadonlySet<string> = new Set(
  Object.values(CLIENTS).map((c) => c.instructionsFile),
);

/**
 * Refuses a client file `file` (relative to the project directory `dir`) that setup would
 * write somewhere other than the project's own files through a symbolic link: out of the
 * project (a cloned repository can ship `.claude -> ~/.claude`, or `AGENTS.md -> /elsewhere`),
 * or into a `.git` directory in it (`AGENTS.md -> .git/config`, `.cursor -> .git/hooks`): git's
 * configuration and hooks are no file of the project's, and a clone cannot ship them. A link
 * within the project (`CLAUDE.md -> AGENTS.md`) is fine. A file that does not exist yet is
 * judged by its nearest existing directory.
 * @throws CofferError INVALID_ARGUMENT naming the file.
 */
export function assertClientFileInProject(dir: string, file: string): void {
  const root = realpathSync(dir);
  let at = join(dir, file);
  while (!existsSync(at) && at !== dirname(at)) at = dirname(at);
  const real = realpathSync(at);
  const rel = relative(root, real);
  if (rel.startsWith('..') || isAbsolute(rel)) {
    throw new CofferError(
      'INVALID_ARGUMENT',
      `${file} leads out of the project through a symbolic link (to ${real})`,
      {
        hint: 'coffer agent setup writes only inside the project: replace the link with a file or directory of the project, then run it again; nothing was written.',
      },
    );
  }
  // The file's own name is not looked at: `.git` is never one of a client's files.
  if (rel.split(sep).includes('.git')) {
    throw new CofferError(
      'INVALID_ARGUMENT',
      `${file} leads into the repository's .git directory through a symbolic link`,
      {
        hint: "coffer agent setup never writes git's own files: replace the link with a file or directory of the project, then run it again; nothing was written.",
      },
    );
  }
}

/**
 * The text of a client's file `file` (relative to the project, as clientFiles names it), at
 * `path`; undefined when it does not exist. Refused: anything but a regular file, a file
 * past its cap (READ_LIMITS.agentInstructions or agentSettings), text that is not UTF-8.
 */
export function readClientFile(path: string, file: string): string | undefined {
  if (statSync(path, { throwIfNoEntry: false }) === undefined) return undefined;
  const bytes = INSTRUCTIONS.has(file)
    ? readRegularFileLimited(path, READ_LIMITS.agentInstructions, "an agent's instructions file")
    : readRegularFileLimited(path, READ_LIMITS.agentSettings, "an agent's settings file");
  if (bytes === undefined)
    throw new CofferError('INVALID_ARGUMENT', `${path} is not a regular file`);
  return decodeUtf8(bytes, path);
}
