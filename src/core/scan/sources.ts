/**
 * Where scanned lines come from: files (the ones git would commit, or every file), the staged
 * diff (pre-commit) and git history, each streamed from git so that a long history is never
 * held in memory. Diffs are read with `-U0`: only added lines are scanned, with their line
 * number in the new file (and, for history, the commit that added them).
 *
 * git runs with coffer's environment minus coffer's credentials, and with options that make
 * its output predictable whatever the user's configuration (no colour, no external diff
 * drivers, `a/`/`b/` prefixes, paths unquoted).
 */
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { relative, resolve, sep } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { CofferError } from '../errors.js';
import { assertGitWorkTree, gitArgs } from '../git.js';
import { childEnvironment } from '../inject/child-env.js';
import { pathFilter } from './filters.js';
import { LineSplitter } from './line-splitter.js';
import { FileScanner, type ScanOptions } from './scanner.js';
import type { Finding } from './types.js';

const GIT_OPTIONS = ['-c', 'core.quotePath=off', '-c', 'diff.noprefix=false'];

function git(args: string[], cwd: string): { ok: boolean; out: string } {
  const r = spawnSync('git', gitArgs([...GIT_OPTIONS, ...args]), {
    cwd,
    env: childEnvironment(process.env),
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  return { ok: r.status === 0 && !r.error, out: r.stdout ?? '' };
}

/** The top of the git work tree holding `cwd`, or undefined outside one. */
export function gitTopLevel(cwd: string): string | undefined {
  const r = git(['rev-parse', '--show-toplevel'], cwd);
  return r.ok ? r.out.trim() : undefined;
}

/**
 * A directory's files, recursively, skipping `.git` (and `node_modules` unless `all`): `dir`
 * is the path to read, `rel` the same directory as shown (relative to the root, forward
 * slashes, '' for the root). Paths are joined as strings: one readdir per directory is the
 * cost, not path normalisation per file.
 */
function walk(dir: string, rel: string, all: boolean, out: string[]): void {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const name = e.name;
    if (name === '.git' || (!all && name === 'node_modules')) continue;
    const shown = rel === '' ? name : `${rel}/${name}`;
    if (e.isDirectory()) walk(`${dir}${sep}${name}`, shown, all, out);
    else if (e.isFile()) out.push(shown);
  }
}

/**
 * The files to scan under `paths` (relative to `cwd`): in a git work tree the tracked and
 * untracked files git does not ignore, unless `allFiles`; elsewhere every file.
 */
export function listFiles(cwd: string, paths: readonly string[], allFiles: boolean): string[] {
  // A path named that is not there is an error (a typo in CI must not pass as clean); a file
  // named is scanned even when git ignores it: it was asked for.
  const shown = (p: string) => relative(cwd, resolve(cwd, p)).split(sep).join('/');
  const named: string[] = [];
  const dirs: string[] = [];
  for (const p of paths) {
    const st = statSync(resolve(cwd, p), { throwIfNoEntry: false });
    if (st === undefined) throw new CofferError('FILE_NOT_FOUND', `${p} does not exist`);
    if (st.isDirectory()) dirs.push(p);
    else if (st.isFile()) named.push(shown(p));
    else {
      throw new CofferError('INVALID_ARGUMENT', `${p} is not a regular file or a directory`, {
        hint: 'coffer scan reads files and directories; a device or a pipe has no end to read to.',
      });
    }
  }
  if (!allFiles && gitTopLevel(cwd) !== undefined) {
    const listed =
      paths.length > 0 && dirs.length === 0
        ? { ok: true, out: '' }
        : git(['ls-files', '-z', '--cached', '--others', '--exclude-standard', '--', ...dirs], cwd);
    if (listed.ok) {
      return [...new Set([...named, ...listed.out.split('\0').filter((p) => p !== '')])];
    }
  }
  // Named files were sorted out above: only directories are walked.
  const out = [...named];
  for (const p of paths.length > 0 ? dirs : ['.']) {
    try {
      walk(resolve(cwd, p), shown(p), allFiles, out);
    } catch (err) {
      // Removed since it was looked at.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new CofferError('FILE_NOT_FOUND', `${p} does not exist`);
      }
      throw err;
    }
  }
  return out;
}

/**
 * The file of git's `Binary files a/X and b/Y differ` line (`/dev/null` on the left for a new
 * file), or undefined for any other line, or one whose new side is no file (a deletion).
 */
function binaryDiffFile(line: string): string | undefined {
  if (!line.startsWith('Binary files ') || !line.endsWith(' differ')) return undefined;
  const both = line.slice('Binary files '.length, -' differ'.length);
  const at = both.lastIndexOf(' and b/');
  return at < 0 ? undefined : both.slice(at + ' and b/'.length);
}

/**
 * Scans a unified diff (`git diff -U0` or `git log -p -U0`, commits marked by lines that
 * start with \x01 and the commit id), given in batches of lines, and returns the findings on
 * added lines. A file git shows as binary (a NUL byte in its first 8000 bytes: git's rule, the
 * scanner's too) has no lines to scan: `onBinary` names it, unless its name alone skips it.
 */
export async function scanDiff(
  batches: AsyncIterable<readonly string[]>,
  options: ScanOptions,
  onFile?: (file: string) => void,
  onBinary?: (file: string) => void,
): Promise<Finding[]> {
  const out: Finding[] = [];
  let commit: string | undefined;
  let scanner: FileScanner | undefined;
  let n = 0;
  for await (const lines of batches) {
    for (const line of lines) {
      if (line.startsWith('\x01')) {
        commit = line.slice(1).trim();
        scanner = undefined;
      } else if (line.startsWith('diff --git ')) {
        scanner = undefined;
      } else if (line.startsWith('+++ ')) {
        const target = line.slice(4);
        const file = target.startsWith('b/') ? target.slice(2) : undefined;
        scanner =
          file === undefined || pathFilter(file, options.baselineFile) !== undefined
            ? undefined
            : new FileScanner({ file, commit }, options);
        if (file !== undefined) onFile?.(file);
      } else if (line.startsWith('@@ ')) {
        const m = /\+(\d+)/.exec(line);
        n = m ? Number(m[1]) : 0;
      } else if (scanner !== undefined && line.startsWith('+')) {
        const f = scanner.line(line.slice(1), n++);
        if (f.length > 0) out.push(...f);
      } else if (onBinary !== undefined && line.startsWith('Binary files ')) {
        const file = binaryDiffFile(line);
        if (file !== undefined && pathFilter(file, options.baselineFile) === undefined) {
          onBinary(file);
        }
      }
    }
  }
  return out;
}

/**
 * Runs git and yields its output as batches of lines (split at `\n` only, a `\r` before it
 * dropped: a lone `\r` inside a line is content; see LineSplitter) as chunks arrive; fails
 * with git's exit status.
 */
async function* gitLines(
  args: string[],
  cwd: string,
  what: string,
): AsyncGenerator<readonly string[]> {
  const child = spawn('git', gitArgs([...GIT_OPTIONS, ...args]), {
    cwd,
    env: childEnvironment(process.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    if (stderr.length < 4096) stderr += d;
  });
  const closed = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  const decoder = new StringDecoder('utf8');
  const splitter = new LineSplitter(what);
  for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
    yield splitter.push(decoder.write(chunk));
  }
  yield [...splitter.push(decoder.end()), ...splitter.end()];
  const code = await closed.catch(() => -1);
  if (code !== 0) {
    const first = stderr.split('\n')[0]?.trim() ?? '';
    throw new CofferError('USAGE', `cannot read ${what} from git${first ? `: ${first}` : ''}`, {
      hint: 'Run coffer scan inside a git repository (and give --history a valid range).',
    });
  }
}

const DIFF_OPTIONS = [
  '-U0',
  '--no-color',
  '--no-ext-diff',
  '--no-textconv',
  '--src-prefix=a/',
  '--dst-prefix=b/',
];

/** Findings in the staged changes (what `git commit` would record); `onBinary` as scanDiff's. */
export async function scanStaged(
  cwd: string,
  options: ScanOptions,
  onFile?: (f: string) => void,
  onBinary?: (f: string) => void,
): Promise<Finding[]> {
  assertGitWorkTree(
    cwd,
    'Run coffer scan --staged in the repository whose staged changes to check, or scan files with coffer scan PATH.',
  );
  return scanDiff(
    gitLines(
      ['diff', '--cached', '--diff-filter=ACMRT', ...DIFF_OPTIONS],
      cwd,
      'the staged changes',
    ),
    options,
    onFile,
    onBinary,
  );
}

/**
 * Findings in the commits of `range` (default: all of HEAD's history); `onBinary` as
 * scanDiff's, once per commit that changed the file.
 */
export async function scanHistory(
  cwd: string,
  range: string | undefined,
  options: ScanOptions,
  onFile?: (f: string) => void,
  onBinary?: (f: string) => void,
): Promise<Finding[]> {
  if (range?.startsWith('-')) {
    throw new CofferError('USAGE', `--history takes a revision range, not an option (${range})`);
  }
  return scanDiff(
    gitLines(
      ['log', '-p', '--format=%x01%H', ...DIFF_OPTIONS, range ?? 'HEAD', '--'],
      cwd,
      'the history',
    ),
    options,
    onFile,
    onBinary,
  );
}
