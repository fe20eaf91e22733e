/**
 * Reading a coding agent's files in a project for `coffer agent setup|check`: its MCP
 * configuration, its settings (JSON, TOML, an ignore file) and its instructions file
 * (AGENTS.md, CLAUDE.md), each under a size cap, so a huge file in a cloned repository is
 * refused by name instead of being read whole, and only a regular file is read: a FIFO or a
 * device is refused without being waited on. What is read is decoded strictly (utf8.ts).
 */
import { statSync } from 'node:fs';
import { CofferError } from '../errors.js';
import { READ_LIMITS, readRegularFileLimited } from '../read-limited.js';
import { decodeUtf8 } from '../utf8.js';
import { CLIENTS } from './clients.js';

const INSTRUCTIONS: ReadonlySet<string> = new Set(
  Object.values(CLIENTS).map((c) => c.instructionsFile),
);

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
