/**
 * Git checks for files that hold secrets: is the file ignored by git?
 */
import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { childEnvironment } from './inject/child-env.js';

/**
 * true: git ignores the file; false: the file is inside a work tree and not ignored;
 * undefined: not in a git work tree (or git is not installed).
 */
export function isGitIgnored(file: string): boolean | undefined {
  const abs = resolve(file);
  const r = spawnSync('git', ['check-ignore', '-q', '--', abs], {
    cwd: dirname(abs),
    // git gets coffer's environment without coffer's credentials, like any child.
    env: childEnvironment(process.env),
    stdio: 'ignore',
  });
  if (r.error) return undefined;
  if (r.status === 0) return true;
  if (r.status === 1) return false;
  return undefined;
}

/**
 * The warning for a secrets file git would commit, or undefined; `shown` is the name the
 * warning uses for it (the file as given by default).
 */
export function gitIgnoreWarning(file: string, shown: string = file): string | undefined {
  return isGitIgnored(file) === false
    ? `${shown} is not ignored by git: add it to .gitignore so its secrets are never committed`
    : undefined;
}
