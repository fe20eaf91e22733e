/**
 * `coffer rotate --sync`: the .env files coffer wrote an older version of a secret into
 * (the `file_write` audit records, places.ts) get the new value, each through the one .env
 * writer (dotenv/write.ts: only that variable changed, other lines kept, atomic, 0600), and
 * each rewrite is recorded as a file write in turn. What it does not touch, it says why:
 * a file that is gone, the output of `coffer inject` (a template holding a reference's
 * value, not a .env file: run inject again), a name the injection rules refuse (core/inject),
 * a write a client recorded through `coffer serve` (its path is the client's to name), a path
 * that is now a symbolic link, a file that no longer holds the variable, a file git tracks
 * (the live value would go into the next commit; one git would commit but does not track yet
 * gets the warning every .env writer gives), and a name another secret of the project owns.
 * The records are only those the vault vouches for (audit/vouched.ts): when the audit log
 * does not verify, nothing is rewritten and the sync is refused (AUDIT_CHAIN_BROKEN, audited
 * as a denied `rotate_sync`). During a grace window with a `previous:` name, the previous
 * value is written beside the new one under that name, as `env pull` does, so the app still
 * accepts both; not under a name the injection rules refuse (sync takes no
 * `--allow-env-name`), and each file rewritten without it says so (`refused-previous`). No
 * value enters the result. A name the injection rules refuse, recorded or previous, is
 * audited as a denied `rotate_sync` (core/inject: recordRefusedNames), never with a value.
 */
import { lstatSync, realpathSync } from 'node:fs';
import { dirname } from 'node:path';
import { type AuditTrust, refuseUnvouched } from '../audit/vouched.js';
import { parseDotenv } from '../dotenv/parse.js';
import { readDotenvFile, writeDotenv } from '../dotenv/write.js';
import { isGitTracked } from '../git.js';
import { type InjectedName, recordRefusedNames, refusedNames } from '../inject/check.js';
import { refusedEnvName } from '../inject/names.js';
import { secretEnvVar } from '../paths.js';
import type { Vault } from '../store/vault.js';
import { endedPreviousNames, graceValues } from './grace.js';
import { type FilePlace, recordFileWrite, type WrittenSecret } from './places.js';

export interface SyncedFile {
  file: string;
  /** The variable rewritten; null for a template's output (see `reference`). */
  name: string | null;
  /** The reference whose value a template's output holds (`coffer inject`); else null. */
  reference: string | null;
  /**
   * `rewritten`, or why not. `refused-previous`: the file was rewritten, but the previous
   * value of the grace window was not written beside the new one, under `name`, a name the
   * injection rules refuse.
   */
  outcome:
    | 'rewritten'
    | 'missing'
    | 'not-dotenv'
    | 'refused-name'
    | 'refused-previous'
    | 'remote'
    | 'link'
    | 'changed'
    | 'tracked'
    | 'name-taken';
  /** The git-ignore warning of a file rewritten that git would commit. */
  warning?: string;
}

/**
 * Whether a file write was recorded by this machine's coffer (the CLI, its MCP server, a
 * scheduled job), not by a client through `coffer serve` (`token:NAME@ADDRESS`): a path a
 * client recorded names a file on its machine, or any file it likes on this one.
 */
function recordedHere(actor: string): boolean {
  return !actor.startsWith('token:');
}

/**
 * Rewrites `files` (stale places of `path` in `env`, valuePlaces) with its current value;
 * `trust` is what valuePlaces found of the audit log they come from.
 */
export async function syncDotenvFiles(
  vault: Vault,
  path: string,
  env: string,
  files: readonly FilePlace[],
  trust: AuditTrust,
): Promise<{ version: number; files: SyncedFile[] }> {
  await refuseUnvouched(vault, 'rotate_sync', { path, env }, trust);
  const out: SyncedFile[] = [];
  const todo: (FilePlace & { name: string })[] = [];
  const refused: InjectedName[] = [];
  for (const f of files) {
    const skip = (outcome: SyncedFile['outcome']) =>
      out.push({ file: f.file, name: f.name, reference: f.reference, outcome });
    // A template's output (older records of inject carry a name, too): only inject renders it.
    if (f.name === null || f.via === 'inject') skip('not-dotenv');
    else if (refusedEnvName(f.name) !== undefined) {
      skip('refused-name');
      refused.push({ name: f.name, path });
    } else if (!recordedHere(f.actor)) skip('remote');
    else {
      const st = lstatSync(f.file, { throwIfNoEntry: false });
      if (st === undefined) skip('missing');
      // The audit log names this path (links on the way resolved, files.ts realFilePath): a
      // link put there since, the file or a directory on the way, leads somewhere it never
      // named. The writer checks both again when it writes.
      else if (st.isSymbolicLink() || realpathSync(dirname(f.file)) !== dirname(f.file))
        skip('link');
      // A file that no longer holds the variable is not the one coffer wrote: never add it.
      else if (!st.isFile() || !Object.hasOwn(parseDotenv(readDotenvFile(f.file)), f.name))
        skip('changed');
      // A committed file (a .env.example, a .env added by mistake) is never given a value.
      else if (isGitTracked(f.file) === true) skip('tracked');
      else todo.push({ ...f, name: f.name });
    }
  }
  // Each name not written is audited as every refused name is: a denied rotate_sync of the
  // secret (a file written with --allow-env-name, which sync does not take, or a record of
  // a name planted for a later sync to write).
  await recordRefusedNames(refusedNames(refused), {
    action: 'rotate_sync',
    env,
    deny: (a, t, r) => vault.recordDenied(a, t, r),
  });
  if (todo.length === 0) return { version: 0, files: out };
  const current = await vault.get(path, env);
  const project = /^project\/([^/]+)\//.exec(path)?.[1];
  // The previous value under its grace name, unless another secret of the project uses that
  // name (run and env pull let that secret win too).
  const listed =
    project === undefined ? [] : await vault.list({ prefix: `project/${project}`, env });
  const taken = new Set(listed.filter((s) => s.path !== path).map(secretEnvVar));
  // This secret's own variable is never a previous name to take out, whatever another
  // secret's finished rotation once called its previous value.
  const own = new Set(listed.filter((s) => s.path === path).map(secretEnvVar));
  const open =
    project === undefined
      ? undefined
      : (await graceValues(vault, project, env)).find(
          (g) => g.path === path && !taken.has(g.envVar),
        );
  // A previous name the injection rules refuse (a rotation this machine allowed it for, or
  // one made before the rule): sync takes no allowance, so the previous value is not written.
  const refusedPrevious =
    open === undefined ? undefined : refusedNames([{ name: open.envVar, path }])[0];
  const grace = refusedPrevious === undefined ? open : undefined;
  // Previous names whose grace window is over: their retired values come out of the file.
  const ended =
    project === undefined
      ? []
      : (await endedPreviousNames(vault, project, env)).filter((n) => !taken.has(n) && !own.has(n));
  // A record under a previous: name is where the previous value went, not the current one:
  // such a name gets the previous value during the grace window, and is taken out after it.
  const previousNames = new Set([...ended, ...(grace === undefined ? [] : [grace.envVar])]);
  const byFile = new Map<string, (FilePlace & { name: string })[]>();
  for (const f of todo) {
    // A record of the previous value under a name another secret owns (older versions wrote
    // such records): that variable is the other secret's.
    if (taken.has(f.name)) {
      out.push({ file: f.file, name: f.name, reference: null, outcome: 'name-taken' });
      continue;
    }
    byFile.set(f.file, [...(byFile.get(f.file) ?? []), f]);
  }
  // The files the previous value would have gone into (those that get the new value): each
  // says it did not, and the refusal is audited once, as the refused names above, before
  // anything is written.
  const withoutPrevious =
    refusedPrevious === undefined
      ? []
      : [...byFile]
          .filter(([, places]) => places.some((f) => !previousNames.has(f.name)))
          .map(([file]) => file);
  if (refusedPrevious !== undefined && withoutPrevious.length > 0) {
    await recordRefusedNames([refusedPrevious], {
      action: 'rotate_sync',
      env,
      deny: (a, t, r) => vault.recordDenied(a, t, r),
    });
  }
  for (const [file, places] of byFile) {
    const values: Record<string, string> = {};
    const written: WrittenSecret[] = [];
    for (const f of places) {
      if (previousNames.has(f.name)) continue;
      values[f.name] = current.value;
      written.push({ path, env, version: current.version, name: f.name });
    }
    if (
      grace !== undefined &&
      (written.length > 0 || places.some((f) => f.name === grace.envVar))
    ) {
      values[grace.envVar] = grace.value;
      written.push({ path, env, version: grace.version, name: grace.envVar });
    }
    const { warning } = writeDotenv(file, values, { remove: ended, realDir: true });
    if (written.length > 0) await recordFileWrite(vault, file, written, 'rotate --sync');
    for (const f of places)
      out.push({
        file,
        name: f.name,
        reference: null,
        outcome: 'rewritten',
        ...(warning === undefined ? {} : { warning }),
      });
    if (refusedPrevious !== undefined && withoutPrevious.includes(file)) {
      out.push({ file, name: refusedPrevious.name, reference: null, outcome: 'refused-previous' });
    }
  }
  return { version: current.version, files: out };
}
