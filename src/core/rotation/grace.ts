/**
 * The previous values a grace window keeps injected: for each secret of a project rotated
 * with a grace window still open and a `previous:` name, its previous version under that
 * name, beside the new value under the usual one. `coffer run` and the .env writers add
 * these, so an app can accept both (a JWT signed with the old key still verifies) until
 * `coffer rotate --finish`.
 *
 * Reading the state opens no value; each previous value read is a `get` audit record, as any
 * read (detail: the purpose and `previous`).
 */
import { parseEnvironment, parsePathPrefix } from '../paths.js';
import type { Vault } from '../store/vault.js';
import { readRotationDoc, type SecretRotation } from './state.js';

export interface GraceValue {
  path: string;
  /** The `previous:` variable name. */
  envVar: string;
  version: number;
  value: string;
  graceUntil: string;
}

/** A secret's rotation state with a `previous:` name, and whether its window is open. */
interface PreviousNamed {
  path: string;
  s: SecretRotation & { previousName: string };
  open: boolean;
}

/**
 * The rotation states of `project`'s secrets in `env` that have a `previous:` name and that
 * `allows` lets through, with whether their grace window is open at `now`.
 */
async function previousNamed(
  vault: Vault,
  project: string,
  env: string,
  now: Date,
  allows: (path: string, env: string) => boolean,
): Promise<PreviousNamed[]> {
  const prefix = `project/${parsePathPrefix(`project/${project}`).group}/`;
  const e = parseEnvironment(env);
  return vault.readTransaction(async (tx, keyring) => {
    if ((await tx.getMeta('rotation_state')) === undefined) return [];
    const doc = await readRotationDoc(tx, keyring);
    const out: PreviousNamed[] = [];
    for (const [key, s] of Object.entries(doc.secrets)) {
      const space = key.lastIndexOf(' ');
      const path = key.slice(0, space);
      if (key.slice(space + 1) !== e || !path.startsWith(prefix) || s.previousName === null)
        continue;
      if (!allows(path, e)) continue;
      const open =
        s.previousVersion !== null &&
        s.graceUntil !== null &&
        Date.parse(s.graceUntil) > now.getTime();
      out.push({ path, s: s as SecretRotation & { previousName: string }, open });
    }
    return out;
  });
}

/** The previous values of `project` in `env` whose grace window is open at `now`. */
export async function graceValues(
  vault: Vault,
  project: string,
  env: string,
  now: Date = new Date(),
  allows: (path: string, env: string) => boolean = () => true,
): Promise<GraceValue[]> {
  const open = (await previousNamed(vault, project, env, now, allows))
    .filter((x) => x.open)
    .map(({ path, s }) => ({
      path,
      envVar: s.previousName,
      version: s.previousVersion!,
      graceUntil: s.graceUntil!,
    }));
  if (open.length === 0) return [];
  const e = parseEnvironment(env);
  const reads = await vault.getMany(
    open.map((o) => ({ path: o.path, env: e, version: o.version })),
  );
  const values: GraceValue[] = [];
  for (let i = 0; i < open.length; i++) {
    const r = reads[i]!;
    if (!r.ok) throw r.error;
    values.push({ ...open[i]!, value: r.value.value });
  }
  return values;
}

/**
 * The `previous:` names of `project` in `env` whose grace window is over (finished, ended, or
 * retired by a later rotation): a .env file coffer wrote may still hold the retired value
 * under one of them, and the .env writers remove it. Names only; nothing is decrypted.
 */
export async function endedPreviousNames(
  vault: Vault,
  project: string,
  env: string,
  now: Date = new Date(),
  allows: (path: string, env: string) => boolean = () => true,
): Promise<string[]> {
  const named = await previousNamed(vault, project, env, now, allows);
  return [...new Set(named.filter((x) => !x.open).map((x) => x.s.previousName))].sort();
}
