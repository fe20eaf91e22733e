/**
 * Small helpers the checks share: which files are .env files, example files or key files,
 * whether a spot in a line is inside a comment, whether a value written in a deployment
 * file is a literal or a reference, and the append-to-a-file fix.
 */
import { appendFileSync, existsSync, lstatSync } from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';
import { isClearlyNotSecret, secretLikeName } from '../../dotenv/example.js';
import { CofferError } from '../../errors.js';
import { writerFileOf } from '../../files.js';
import { READ_LIMITS, readRegularFileLimited, TooLargeError } from '../../read-limited.js';
import { isPlaceholderOrReference } from '../../scan/filters.js';
import type { Fix } from '../types.js';

export const base = (file: string): string => file.slice(file.lastIndexOf('/') + 1);

const EXAMPLE = /\.(?:example|sample|template|dist|defaults|tmpl|tpl)$/i;

/**
 * Files meant to be committed though their names look like a .env file's: dotenv-vault's
 * `.env.vault` holds only ciphertext (its keys are kept elsewhere, `DOTENV_KEY`), and its
 * documentation has it committed. dotenvx's `.env.keys` is the opposite, the private keys that
 * decrypt its encrypted .env files: it stays a .env file here, to be ignored and never committed.
 */
const COMMITTED_ENV = new Set(['.env.vault']);

/** dotenvx's file of private decryption keys: secret, but no environment of an app. */
export function isDotenvKeysFile(file: string): boolean {
  return base(file) === '.env.keys';
}

/**
 * `.env`, `.env.local`, `.env.prod`, `prod.env`, and dotenvx's `.env.keys`: a file holding real
 * values. Not an example file, not dotenv-vault's ciphertext `.env.vault` (COMMITTED_ENV), and
 * not what a coffer write leaves beside one (writerFileOf): its lock `.env.lock` (a pid, a host,
 * a token), the lock's takeover and pid files, and its temp files (which hold secrets, but are
 * reported as leftovers to delete, not as .env files to ignore).
 */
export function isEnvFile(file: string): boolean {
  const b = base(file);
  if (writerFileOf(b) !== undefined || COMMITTED_ENV.has(b)) return false;
  return (/^\.env(?:\..+)?$/.test(b) || /^[\w.-]+\.env$/.test(b)) && !EXAMPLE.test(b);
}

/** `.env.example`, `.env.sample`, `.env.template`: a file meant to be committed. */
export function isEnvExample(file: string): boolean {
  const b = base(file);
  return /^\.env(?:\..+)?$/.test(b) && EXAMPLE.test(b);
}

/** Names that are key or credential files whatever they hold. */
const SECRET_FILE =
  /^(?:id_(?:rsa|dsa|ecdsa|ed25519)|credentials\.json|secrets\.json|service[-_]account.*\.json|\.pgpass|\.netrc|master\.key)$|\.(?:key|p12|pfx|jks|keystore|ppk)$/i;

/** Is this file told a secret file or not by its content (a `.pem`: a private key or not)? */
export function needsContent(file: string): boolean {
  const b = base(file);
  return !SECRET_FILE.test(b) && /\.pem$/i.test(b);
}

/** Does this file (name and content) look like a secret file? */
export function isSecretFile(file: string, text: () => string | undefined): boolean {
  const b = base(file);
  if (/\.pub$/.test(b)) return false;
  if (SECRET_FILE.test(b)) return true;
  if (/\.pem$/i.test(b)) return /PRIVATE KEY-----/.test(text() ?? '');
  return false;
}

/** Is column `col` (0-based) of `line` inside a comment (`#`, `//`, `/*`, `*`, `<!--`, `--`)? */
export function inComment(line: string, col: number): boolean {
  const before = line.slice(0, col);
  const t = before.trimStart();
  if (/^(?:#|\/\/|\/\*|\*|<!--|--\s|;|REM\s)/i.test(t)) return true;
  // A comment after code: ` # ...` or ` // ...` outside quotes (a rough but safe reading).
  const quotes = (before.match(/["'`]/g) ?? []).length;
  return quotes % 2 === 0 && /(?:^|\s)(?:#|\/\/)\s/.test(before);
}

/** Line `n` (1-based) of `text`. */
export function lineOf(text: string, n: number): string {
  let start = 0;
  for (let i = 1; i < n; i++) {
    const next = text.indexOf('\n', start);
    if (next < 0) return '';
    start = next + 1;
  }
  const end = text.indexOf('\n', start);
  return text.slice(start, end < 0 ? text.length : end).replace(/\r$/, '');
}

/** Strips one level of matching quotes. */
export function unquote(v: string): string {
  const t = v.trim();
  if (t.length >= 2 && (t[0] === '"' || t[0] === "'") && t.endsWith(t[0]!)) return t.slice(1, -1);
  return t;
}

/**
 * Is `value`, assigned to `name` in a deployment file, a secret written in place (not empty,
 * not a reference such as `${VAR}`, `${{ secrets.X }}` or `coffer://`, not a placeholder, not a
 * plain setting such as a URL without credentials or a port)?
 */
export function isLiteralSecret(name: string, value: string): boolean {
  const v = unquote(value);
  if (v === '' || !secretLikeName(name)) return false;
  if (/\$\{|\$[A-Za-z_]|^\$\(|coffer:\/\//.test(v)) return false;
  if (isPlaceholderOrReference(v)) return false;
  return !isClearlyNotSecret(name, v);
}

/**
 * The text of the ignore file `file` (at `path`) a fix appends to, read under
 * READ_LIMITS.ignoreFile. A FIFO or a device is refused unread (appending would wait on it);
 * one that cannot be read fails the fix with its system error code, as it always has.
 */
function readIgnoreFile(path: string, file: string): string {
  let bytes: Buffer | undefined;
  try {
    bytes = readRegularFileLimited(path, READ_LIMITS.ignoreFile, 'an ignore file');
  } catch (err) {
    throw err instanceof TooLargeError ? err : ((err as Error).cause ?? err);
  }
  if (bytes === undefined) {
    throw new CofferError(
      'INVALID_ARGUMENT',
      `${file} is not a regular file: coffer doctor does not write to it`,
    );
  }
  return bytes.toString('utf8');
}

/** The fix that appends `lines` to `file` (under the root), creating it if needed. */
export function appendLinesFix(root: string, file: string, lines: readonly string[]): Fix {
  const path = join(root, file);
  return {
    description: `add to ${file}: ${lines.join(', ')}`,
    command: `printf '%s\\n' ${lines.map((l) => `'${l}'`).join(' ')} >> ${file}`,
    apply: () => {
      // A link could lead out of the project (a cloned repository's .gitignore -> ~/.bashrc).
      if (lstatSync(path, { throwIfNoEntry: false })?.isSymbolicLink()) {
        throw new CofferError(
          'INVALID_ARGUMENT',
          `${file} is a symbolic link: coffer doctor does not write through it`,
        );
      }
      const current = existsSync(path) ? readIgnoreFile(path, file) : '';
      const have = new Set(current.split(/\r?\n/).map((l) => l.trim()));
      const add = lines.filter((l) => !have.has(l));
      if (add.length === 0) return;
      const sep = current === '' || current.endsWith('\n') ? '' : '\n';
      appendFileSync(path, `${sep}${add.join('\n')}\n`);
    },
  };
}

/** `path` as evidence shows it: relative inside the project `root`, else as it is. */
export function shownPath(root: string, path: string): string {
  const r = relative(root, path);
  return r === '' || r.startsWith('..') || isAbsolute(r) ? path : r.split(sep).join('/');
}

/** Shell-quotes one argument for a suggested command. */
export function sh(arg: string): string {
  return /^[\w./@:=,+-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/**
 * Why a check that reads the audit log (the last backup, a token's last use) is skipped: it
 * uses only records the vault vouches for, and none are while the log does not verify.
 */
export const UNVERIFIED = 'the audit log does not verify (lifecycle/audit-verify says why)';
