/**
 * The git pre-commit hook that runs `coffer scan --staged`: installed in the repository's
 * hooks directory (`git rev-parse --git-path hooks`, which honours `core.hooksPath`), chaining
 * a hook already there (kept beside it as `pre-commit.coffer-chained` and run first; its
 * failure stops the commit), and removed with the chained hook put back.
 *
 * A hook is read only to tell coffer's own from another (and, for doctor and incident,
 * whether another runs a scanner), under READ_LIMITS.gitHook: a hook past it, or one that is
 * not a regular file (a FIFO, a link to a device), is never read, and counts as not coffer's.
 */
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { CofferError } from '../errors.js';
import { gitArgs, notInGitRepository } from '../git.js';
import { childEnvironment } from '../inject/child-env.js';
import {
  READ_LIMITS,
  readFoundFile,
  readRegularFileLimited,
  TooLargeError,
} from '../read-limited.js';

const MARKER = '# coffer pre-commit hook';
export const CHAINED_HOOK = 'pre-commit.coffer-chained';

/** The hooks directory of the repository holding `cwd` (core.hooksPath honoured). */
export function hooksDirectory(cwd: string): string {
  const r = spawnSync('git', gitArgs(['rev-parse', '--git-path', 'hooks']), {
    cwd,
    env: childEnvironment(process.env),
    encoding: 'utf8',
  });
  if (r.error || r.status !== 0) {
    throw notInGitRepository('Run coffer hook install in the repository the hook is for.');
  }
  return resolve(cwd, r.stdout.trim());
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** The hook script; `command` is how to run coffer (argv, quoted for sh). */
export function hookScript(command: readonly string[]): string {
  return `#!/bin/sh
${MARKER} (coffer hook install; coffer hook uninstall removes it).
# Blocks a commit whose staged changes hold a secret; see docs/scan.md.
hook_dir=$(dirname "$0")
if [ -x "$hook_dir/${CHAINED_HOOK}" ]; then
  "$hook_dir/${CHAINED_HOOK}" "$@" || exit $?
fi
exec ${command.map(quote).join(' ')} scan --staged
`;
}

export interface HookResult {
  readonly hook: string;
  /** The existing hook now run first, if any. */
  readonly chained?: string | undefined;
  /** False when the hook was already installed (or, for uninstall, absent). */
  readonly changed: boolean;
}

/**
 * The text of a hook (or the pre-commit framework's config) at `file`; undefined when there
 * is none, or it cannot be coffer's: larger than READ_LIMITS.gitHook (coffer's hook is a few
 * hundred bytes; a hook that large is a program) or not a regular file, neither of which is
 * read. A file that cannot be read is an error naming it.
 */
function hookText(file: string, what = 'a git hook'): string | undefined {
  const st = statSync(file, { throwIfNoEntry: false });
  if (st === undefined) return undefined;
  // Neither a hook nor something to chain: said as reading it always said.
  if (st.isDirectory()) {
    throw new CofferError('IO_ERROR', `cannot use ${file}: it is a directory (EISDIR)`);
  }
  try {
    return readRegularFileLimited(file, READ_LIMITS.gitHook, what)?.toString('utf8');
  } catch (err) {
    if (err instanceof TooLargeError) return undefined;
    throw err;
  }
}

/** Installs the hook (idempotent), chaining an existing one. */
export function installHook(cwd: string, command: readonly string[]): HookResult {
  const dir = hooksDirectory(cwd);
  mkdirSync(dir, { recursive: true });
  const hook = join(dir, 'pre-commit');
  const chained = join(dir, CHAINED_HOOK);
  const script = hookScript(command);
  let changed = true;
  // lstat: a link there counts, dangling or not (writing through it would create its target).
  if (lstatSync(hook, { throwIfNoEntry: false }) !== undefined) {
    const current = hookText(hook);
    if (current?.includes(MARKER)) changed = current !== script;
    else {
      if (lstatSync(chained, { throwIfNoEntry: false }) !== undefined) {
        throw new CofferError('ALREADY_EXISTS', `${chained} already exists`, {
          hint: 'Move it away or merge it into the pre-commit hook, then install again.',
        });
      }
      renameSync(hook, chained);
    }
  }
  // The name is free (or coffer's own hook, a regular file): never written through a link.
  if (lstatSync(hook, { throwIfNoEntry: false })?.isSymbolicLink() === true) rmSync(hook);
  writeFileSync(hook, script, { mode: 0o755 });
  chmodSync(hook, 0o755);
  const isChained = lstatSync(chained, { throwIfNoEntry: false }) !== undefined;
  return { hook, chained: isChained ? chained : undefined, changed };
}

/** Removes coffer's hook and puts a chained hook back. */
export function uninstallHook(cwd: string): HookResult {
  const dir = hooksDirectory(cwd);
  const hook = join(dir, 'pre-commit');
  const chained = join(dir, CHAINED_HOOK);
  if (hookText(hook)?.includes(MARKER) !== true) {
    return { hook, changed: false };
  }
  rmSync(hook);
  if (existsSync(chained)) {
    renameSync(chained, hook);
    return { hook, chained: hook, changed: true };
  }
  return { hook, changed: true };
}

/**
 * Does the pre-commit hook of the repository at `root` run a secret scanner (coffer's own
 * hook, a hook that runs `coffer scan`, or the pre-commit framework with a scanner in its
 * config)? Undefined outside a git repository. `unread`: the hook or the framework's config
 * is there but was not read (larger than READ_LIMITS.gitHook, not a regular file, permission
 * denied, a dangling link), so whether it runs a scanner is not known. Used by `coffer
 * doctor` and `coffer incident`.
 */
export function scannerHookState(
  root: string,
): { hook: string; ok: boolean; unread: { file: string; reason: string }[] } | undefined {
  let dir: string;
  try {
    dir = hooksDirectory(root);
  } catch {
    return undefined;
  }
  const unread: { file: string; reason: string }[] = [];
  const read = (file: string, what: string): string => {
    const found = readFoundFile(file, READ_LIMITS.gitHook, what);
    if (found === undefined) return '';
    if ('unreadable' in found) {
      unread.push({ file, reason: found.unreadable });
      return '';
    }
    return found.bytes.toString('utf8');
  };
  const hook = join(dir, 'pre-commit');
  const text = read(hook, 'a git hook');
  if (/# coffer pre-commit hook|coffer['"]?\s+scan/.test(text)) return { hook, ok: true, unread };
  // The pre-commit framework's hook, with a config that runs a secret scanner.
  const config = read(join(root, '.pre-commit-config.yaml'), 'a pre-commit configuration');
  const framework =
    /pre-commit/.test(text) && /detect-secrets|gitleaks|coffer|trufflehog/.test(config);
  return { hook, ok: framework, unread };
}
