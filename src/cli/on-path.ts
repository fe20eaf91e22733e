/** Finding a program the way a shell would before starting it. */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * Whether `cmd` names a file: as a path when it holds a `/`, else in one of the directories
 * of `path` (PATH). `executable`: one this user may run (X_OK), else any file there.
 */
export function onPath(
  cmd: string,
  options: { path?: string | undefined; executable?: boolean } = {},
): boolean {
  const mode = options.executable === true ? constants.X_OK : constants.F_OK;
  const there = (file: string) => {
    try {
      accessSync(file, mode);
      return true;
    } catch {
      return false;
    }
  };
  if (cmd.includes('/')) return there(cmd);
  return (options.path ?? '').split(delimiter).some((dir) => dir !== '' && there(join(dir, cmd)));
}
