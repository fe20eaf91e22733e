/**
 * The prevention items of the leak checklist that can be checked on disk: a pre-commit hook
 * running a secret scanner (the rule `coffer doctor` applies), a scanner baseline, and .env files ignored by git.
 */
import { existsSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { READ_LIMITS, readRegularFileLimited, TooLargeError } from '../read-limited.js';
import { scannerHookState } from '../scan/hook.js';
import type { PreventionCheck } from './report.js';

/**
 * A .gitignore's text; `unreadable` (why) when it is there but cannot be read: also when it is
 * larger than READ_LIMITS.ignoreFile or not a regular file (a FIFO, a device), neither of
 * which is read; undefined when there is none.
 */
function readIgnoreFile(file: string): { text: string } | { unreadable: string } | undefined {
  if (lstatSync(file, { throwIfNoEntry: false }) === undefined) return undefined;
  try {
    const bytes = readRegularFileLimited(file, READ_LIMITS.ignoreFile, 'an ignore file');
    return bytes === undefined
      ? { unreadable: 'not a regular file' }
      : { text: bytes.toString('utf8') };
  } catch (err) {
    return { unreadable: err instanceof TooLargeError ? 'too large' : 'cannot be read' };
  }
}

/** The checks for the project in `dir` (its repository root or a directory inside it). */
export function preventionChecks(dir: string): PreventionCheck[] {
  const hook = scannerHookState(dir);
  const ignoreFile = readIgnoreFile(join(dir, '.gitignore'));
  const ignore = ignoreFile !== undefined && 'text' in ignoreFile ? ignoreFile.text : '';
  const ignored = ignore.split(/\r?\n/).some((l) => /^\/?\.env(\*|\..*)?$/.test(l.trim()));
  return [
    {
      item: 'pre-commit hook',
      ok: hook?.ok === true,
      detail: hook?.ok === true ? 'runs a secret scanner' : 'run coffer hook install',
    },
    {
      item: 'scanner baseline',
      ok: existsSync(join(dir, '.secrets.baseline')),
      detail: existsSync(join(dir, '.secrets.baseline'))
        ? '.secrets.baseline present'
        : 'coffer scan --update-baseline writes one',
    },
    {
      item: '.gitignore',
      ok: ignored,
      detail: ignored
        ? '.env files are ignored'
        : ignoreFile !== undefined && 'unreadable' in ignoreFile
          ? `.gitignore ${ignoreFile.unreadable}: check that it ignores .env files`
          : 'add .env to .gitignore',
    },
  ];
}
