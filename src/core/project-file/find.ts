/**
 * Finding the project a directory belongs to, so `coffer run -- npm start` needs no flags:
 * the nearest project file (`.coffer`, `coffer.yaml`, `coffer.yml`: parse.ts) in a directory
 * or one of its parents that names a project.
 *
 * Only regular files are read, under READ_LIMITS.projectFile: `~/.coffer` is the default
 * COFFER_HOME, a directory, and a FIFO or a device in a file's place is passed over unread
 * (nothing may ever write to it). A file past the cap is refused by name.
 */
import { statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CofferError } from '../errors.js';
import { parseProjectName } from '../paths.js';
import { READ_LIMITS, readRegularFileLimited } from '../read-limited.js';
import { decodeUtf8 } from '../utf8.js';
import {
  noProjectLine,
  PROJECT_FILE_NAMES,
  type ProjectConfig,
  type ProjectlessFile,
  parseProjectFile,
} from './parse.js';

/**
 * The nearest project file's settings from `start` up, or undefined when there is none.
 * Files that name no project are passed over (a parent's file may name it) and listed in
 * `projectless`.
 */
export function findProjectConfig(
  start: string,
  projectless: ProjectlessFile[] = [],
): ProjectConfig | undefined {
  let dir = start;
  for (;;) {
    for (const name of PROJECT_FILE_NAMES) {
      const file = join(dir, name);
      if (!statSync(file, { throwIfNoEntry: false })?.isFile()) continue;
      const bytes = readRegularFileLimited(file, READ_LIMITS.projectFile, 'a project file');
      if (bytes === undefined) continue;
      const parsed = parseProjectFile(file, decodeUtf8(bytes, file));
      if (parsed.project === undefined) {
        projectless.push(parsed);
        continue;
      }
      return parsed;
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/**
 * The project of a command run in `dir`: `flag` (--project) when given, else the nearest
 * project file's (returned as `file`); a USAGE error when there is neither, naming a file
 * that lacks its project line. With a flag no file is read.
 */
export function resolveProjectIn(
  dir: string,
  flag: string | undefined,
): { project: string; file?: ProjectConfig } {
  if (flag !== undefined) return { project: parseProjectName(flag) };
  const projectless: ProjectlessFile[] = [];
  const found = findProjectConfig(dir, projectless);
  if (found === undefined) {
    const near = projectless[0];
    if (near !== undefined) throw noProjectLine(near);
    throw new CofferError('USAGE', 'no project given and no .coffer or coffer.yaml file found', {
      hint: 'Pass --project NAME, or create a .coffer file containing: project=NAME',
    });
  }
  return { project: found.project, file: found };
}
