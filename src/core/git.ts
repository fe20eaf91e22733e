/**
 * Git checks: is a file that holds secrets ignored by git, and is a directory inside a git
 * work tree (for the commands that only make sense there: `scan --staged`, `hook install`).
 */
import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { CofferError } from './errors.js';
import { childEnvironment } from './inject/child-env.js';

/** The refusal of a git-only command outside a repository; `hint` says where to run it. */
export function notInGitRepository(hint: string): CofferError {
  return new CofferError('USAGE', 'not inside a git repository', { hint });
}

/**
 * Throws notInGitRepository unless `cwd` is inside a git work tree (or git is missing): git
 * run elsewhere answers with its own errors (`git diff --cached` outside a repository falls
 * back to comparing files and rejects --cached as an unknown option).
 */
export function assertGitWorkTree(cwd: string, hint: string): void {
  const r = spawnSync('git', ['rev-parse', '--is-inside-work-tree'], {
    cwd,
    env: childEnvironment(process.env),
    encoding: 'utf8',
  });
  if (r.error || r.status !== 0 || r.stdout.trim() !== 'true') throw notInGitRepository(hint);
}

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
 * true: git tracks the file (it is in the index: a change to it is committed with the next
 * `git commit -a`); false: it does not; undefined: not in a git work tree (or no git).
 */
export function isGitTracked(file: string): boolean | undefined {
  const abs = resolve(file);
  const r = spawnSync('git', ['ls-files', '--error-unmatch', '--', abs], {
    cwd: dirname(abs),
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
