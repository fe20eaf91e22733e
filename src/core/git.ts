/**
 * Git checks: is a file that holds secrets ignored by git, and is a directory inside a git
 * work tree (for the commands that only make sense there: `scan --staged`, `hook install`);
 * and how coffer runs git at all (`gitArgs`), in repositories it did not make.
 */
import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { CofferError } from './errors.js';
import { childEnvironment } from './inject/child-env.js';

/**
 * Settings given on git's command line (which wins over every config file) so that a
 * repository's own .git/config, or a file it includes, never makes git start a program when
 * coffer runs it: a project received with its .git directory (an archive, a shared disk) is
 * checked with `coffer doctor` and `coffer scan` precisely because it is not trusted yet.
 * - core.fsmonitor: a program git runs on every command that reads the index (ls-files,
 *   check-ignore, diff --cached);
 * - log.showSignature: makes `git log` run gpg.program (or gpg.ssh.program) on each signed
 *   commit of `scan --history`.
 * Diff programs (diff.external, textconv) are turned off by the diff commands' own options.
 */
const GIT_SAFETY: readonly string[] = [
  '-c',
  'core.fsmonitor=false',
  '-c',
  'log.showSignature=false',
];

/** The argv (after `git`) of every git command coffer runs: the safety settings, then `args`. */
export function gitArgs(args: readonly string[]): string[] {
  return [...GIT_SAFETY, ...args];
}

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
  const r = spawnSync('git', gitArgs(['rev-parse', '--is-inside-work-tree']), {
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
  return gitYesNo(file, ['check-ignore', '-q']);
}

/**
 * true: git tracks the file (it is in the index: a change to it is committed with the next
 * `git commit -a`); false: it does not; undefined: not in a git work tree (or no git).
 */
export function isGitTracked(file: string): boolean | undefined {
  return gitYesNo(file, ['ls-files', '--error-unmatch']);
}

/**
 * A git question about one file answered by its exit status (0 yes, 1 no), asked in the
 * file's directory; undefined when git cannot answer (no git, not a work tree).
 */
function gitYesNo(file: string, question: readonly string[]): boolean | undefined {
  const abs = resolve(file);
  const r = spawnSync('git', gitArgs([...question, '--', abs]), {
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
