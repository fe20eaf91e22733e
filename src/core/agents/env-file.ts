/**
 * Which .env file an agent may have coffer write (MCP `write_env`, `request_secret`'s
 * `writeEnv`): a dotenv file (`.env` or `.env.*`, the names `agent setup` keeps the agent from
 * reading) inside the server's working directory, reached without symbolic links, and not a
 * template meant to be committed (`.env.example`, `.sample`, `.template`, `.dist`). Each
 * refusal (outside the directory, another name, a template, a link, a special file, and the
 * same checks again when the file is written) is audited as one; a path the system cannot
 * reach (a file where a directory should be, a name too long) is an error naming the file.
 */
import { existsSync, lstatSync, realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, relative, resolve } from 'node:path';
import type { Denier, Target } from '../access/policy.js';
import { type DotenvWrite, type DotenvWriteOptions, writeDotenv } from '../dotenv/write.js';
import { CofferError, fromSystemError } from '../errors.js';
import { checkFileName } from '../files.js';

const DOTENV_NAME = /^\.env(?:\..+)?$/;
/** Committed templates: values written there end up in the repository. */
const TEMPLATE_NAME = /^\.env\.(?:example|sample|template|dist)$/i;

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

/**
 * The absolute path of `file` under `cwd`, or an error saying why it may not be written. A
 * path the system cannot look at (a regular file where a directory should be, a name too
 * long for the file system, a directory it may not enter) is a CofferError naming `file`.
 */
export function envFileUnder(cwd: string, file: string): { abs: string; rel: string } {
  try {
    return checkEnvFile(cwd, file);
  } catch (err) {
    throw err instanceof CofferError ? err : (fromSystemError(err, file) ?? err);
  }
}

function checkEnvFile(cwd: string, file: string): { abs: string; rel: string } {
  const abs = resolve(cwd, checkFileName(file));
  const outside = () =>
    new CofferError('FORBIDDEN', `${file} is outside the working directory ${cwd}`, {
      hint: 'Give a path inside the project directory, e.g. .env or config/.env.local.',
    });
  if (!inside(cwd, abs)) throw outside();
  if (!DOTENV_NAME.test(basename(abs))) {
    throw new CofferError('INVALID_ARGUMENT', `${file} is not a dotenv file`, {
      hint: 'write_env writes only files named .env or .env.<suffix>, which coffer agent setup keeps the agent from reading.',
    });
  }
  if (TEMPLATE_NAME.test(basename(abs))) {
    throw new CofferError('INVALID_ARGUMENT', `${file} is a template meant to be committed`, {
      hint: 'write_env writes values; a committed .env.example holds names only (`coffer env example`).',
    });
  }
  // Symbolic links could lead outside the directory: the nearest existing ancestor must
  // resolve inside it, and the file itself may not be a link.
  let dir = dirname(abs);
  while (!existsSync(dir)) dir = dirname(dir);
  const realCwd = realpathSync(cwd);
  const realDir = realpathSync(dir);
  if (realDir !== realCwd && !inside(realCwd, realDir)) throw outside();
  const stat = lstatSync(abs, { throwIfNoEntry: false });
  if (stat !== undefined && (stat.isSymbolicLink() || !stat.isFile())) {
    throw new CofferError('INVALID_ARGUMENT', `${file} is not a regular file`, {
      hint: 'write_env does not follow symbolic links.',
    });
  }
  return { abs, rel: relative(cwd, abs) };
}

/**
 * Is `err` coffer refusing the file (outside the directory, not a dotenv name, a template, a
 * symbolic link, not a regular file, read-only), as opposed to the system failing to reach it
 * (IO_ERROR, FILE_NOT_FOUND), which is no decision to audit?
 */
function isFileRefusal(err: unknown): err is CofferError {
  return (
    err instanceof CofferError && (err.code === 'FORBIDDEN' || err.code === 'INVALID_ARGUMENT')
  );
}

/**
 * `envFileUnder`, with every refusal of the file (outside the working directory, not a dotenv
 * file, a template, a symbolic link, not a regular file) audited through `deny` (as `action`
 * on `target`, outcome denied, the message naming the file and why as its detail) before the
 * error is thrown: a cloned repository's `.env -> ~/.ssh/authorized_keys` that an agent was
 * steered to write is what the operator looks for in the log.
 */
export async function authorizeAgentEnvFile(
  deny: Denier,
  action: string,
  target: Target,
  cwd: string,
  file: string,
): Promise<{ abs: string; rel: string }> {
  try {
    return envFileUnder(cwd, file);
  } catch (err) {
    if (isFileRefusal(err)) await deny(action, target, err.message);
    throw err;
  }
}

/**
 * `writeDotenv` of a file `authorizeAgentEnvFile` allowed, with its write-time refusals (a
 * symbolic link or a special file swapped in since the check, a directory that now leads out
 * of the project, a read-only file) audited through `deny` as that function audits its own.
 */
export async function writeAgentEnvFile(
  deny: Denier,
  action: string,
  target: Target,
  abs: string,
  values: Readonly<Record<string, string>>,
  options: DotenvWriteOptions,
): Promise<DotenvWrite> {
  try {
    return writeDotenv(abs, values, options);
  } catch (err) {
    if (isFileRefusal(err)) await deny(action, target, err.message);
    throw err;
  }
}
