/**
 * The prevention items of the leak checklist that can be checked on disk: a pre-commit hook
 * running a secret scanner (the rule `coffer doctor` applies), a scanner baseline, and .env files ignored by git.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { READ_LIMITS, readRegularFileLimited } from '../read-limited.js';
import { scannerHookState } from '../scan/hook.js';
import type { PreventionCheck } from './report.js';

/**
 * A file's text, undefined when it cannot be read: also when it is larger than
 * READ_LIMITS.ignoreFile or not a regular file (a FIFO, a device), neither of which is read.
 */
function read(file: string): string | undefined {
  try {
    return readRegularFileLimited(file, READ_LIMITS.ignoreFile, 'an ignore file')?.toString('utf8');
  } catch {
    return undefined;
  }
}

/** The checks for the project in `dir` (its repository root or a directory inside it). */
export function preventionChecks(dir: string): PreventionCheck[] {
  const hook = scannerHookState(dir);
  const ignore = read(join(dir, '.gitignore')) ?? '';
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
      detail: ignored ? '.env files are ignored' : 'add .env to .gitignore',
    },
  ];
}
