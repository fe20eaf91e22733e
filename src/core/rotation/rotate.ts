/**
 * `coffer rotate PATH` and `coffer rotate --finish PATH`: a new version of a secret, with the
 * previous one kept valid for a grace window, then retired.
 *
 * What the new value is depends on the secret:
 *   envelope / fernet   a key list (keylist.ts): a new primary key first, the old keys kept,
 *                       so data encrypted before still decrypts; `--finish --rewrapped`
 *                       keeps only the new key, after the data was rewrapped
 *   generated           a generator spec (the manifest's `generate:`, or the one `coffer
 *                       generate` stored): a new value from the OS CSPRNG
 *   external            anything else (a provider's API key): the caller brings the new
 *                       value (stdin or a hidden prompt), after the provider's steps
 *
 * One transaction holds the new version, the rotation state (state.ts: the previous version
 * and until when it is injected under its `previous:` name) and the audit record: a kill at
 * any moment leaves the old state or the new one, and running the command again completes.
 * No value enters an error, the audit record or the result.
 */
import { type AccessPolicy, authorize, type Denier } from '../access/policy.js';
import { authorizeValueReferences } from '../access/value-references.js';
import { CofferError } from '../errors.js';
import { generateSecret } from '../generate/generate.js';
import { parseGeneratorSpec } from '../generate/spec.js';
import { recordRefusedNames } from '../inject/check.js';
import { parseEnvironment, parseEnvVarName, parseKeyPath, secretEnvVar } from '../paths.js';
import type { Vault } from '../store/vault.js';
import { formatDuration, parseDuration } from './duration.js';
import { addPrimaryKey, keepPrimaryKey, readKeyList } from './keylist.js';
import { refusedPreviousName } from './previous-name.js';
import {
  emptySecretRotation,
  markIncidentsRotated,
  readRotationDoc,
  type SecretRotation,
  slotKey,
  writeRotationDoc,
} from './state.js';

export type RotationKind = 'generated' | 'external' | 'envelope' | 'fernet';

export interface RotateOptions {
  path: string;
  env: string;
  /** How long the previous version stays injected (0: retired at once). */
  graceMs: number;
  /** The new value of an external secret (stdin or a prompt). */
  value?: string | undefined;
  /** The manifest's generator spec for this secret (else the one stored with it). */
  generator?: string | null | undefined;
  /** The manifest's `previous:` variable name for the grace window. */
  previousName?: string | null | undefined;
  /**
   * The names this machine allows although the injection rules refuse them (the manifest's
   * and the project file's `allow_env_names`, `--allow-env-name`): a previous name among them
   * is accepted, as `coffer run` then injects it and `manifest check` accepts it. Only a local
   * caller passes any (rotateUnderPolicy takes none).
   */
  allowEnvNames?: readonly string[] | undefined;
  /**
   * An open incident on this secret (`coffer incident`): its `rotated` step is recorded in
   * the rotation's own transaction, so a kill never leaves a rotation the incident does not
   * know about (a second run would rotate again).
   */
  incidentId?: string | undefined;
  /**
   * Whether the caller may learn that the new value of an external secret equals the current
   * one (refused as INVALID_VALUE). False for a caller that may not read the value: the
   * refusal would tell it whether a guess is the stored value, so the value is stored as a
   * new version instead. Default true (the vault's own user).
   */
  mayCompare?: boolean | undefined;
  /**
   * Where a refused `previousName` is audited (assertPreviousName): default the vault's own
   * log, as its actor; a caller bound by a policy passes its own (the web UI's session).
   */
  deny?: Denier | undefined;
}

export interface RotateResult {
  path: string;
  env: string;
  kind: RotationKind;
  previousVersion: number;
  version: number;
  /** Until when the previous version is injected; null: no grace window. */
  graceUntil: string | null;
  previousName: string | null;
  /** Key lists: how many keys the new value holds, and the new primary's id (envelope). */
  keys: number | null;
  primaryKeyId: string | null;
  /**
   * A version retired before its grace window ended, by this rotation (only one previous
   * version is kept): programs and files may still use it. null: none.
   */
  retiredEarly: number | null;
}

export interface RotationPlan {
  path: string;
  env: string;
  kind: RotationKind;
  version: number;
}

/** Which kind of rotation a secret gets (the value is opened, never returned). */
function kindOf(
  value: string,
  meta: { generator: string | null; tier: number | null },
  generator: string | null,
): RotationKind {
  const list = readKeyList(value, { generator: meta.generator, tier: meta.tier });
  if (list !== undefined) return list.format;
  return generator !== null ? 'generated' : 'external';
}

function target(path: string, env: string): { path: string; env: string } {
  return { path: parseKeyPath(path).path, env: parseEnvironment(env) };
}

/**
 * What `rotate` would do with a secret, without changing it: the CLI asks before it prints
 * the provider's steps and prompts for an external secret's value. Audited (`rotate_plan`).
 */
export function planRotation(
  vault: Vault,
  path: string,
  env: string,
  generator?: string | null,
): Promise<RotationPlan> {
  const t = target(path, env);
  return vault.secretTransaction('rotate_plan', t, async (s) => {
    const current = await s.read();
    const meta = (await s.tx.getSecret(t.path, t.env))!;
    const kind = kindOf(current.value, meta, generator ?? meta.generator);
    return {
      result: { ...t, kind, version: current.version },
      version: current.version,
      detail: kind,
    };
  });
}

/**
 * Refuses a previous name that refusedPreviousName refuses. The refusal is audited first, as
 * every refused name is (recordRefusedNames): a denied `rotate` of the secret through `deny`.
 * Called by rotateSecret, and by a front end before it asks for an external secret's new
 * value.
 */
export async function assertPreviousName(
  secret: { path: string; env: string },
  previousName: string,
  deny: Denier,
  allowed: readonly string[] = [],
): Promise<void> {
  const t = target(secret.path, secret.env);
  const name = parseEnvVarName(previousName);
  const refused = refusedPreviousName(t.path, name, allowed);
  if (refused === undefined) return;
  await recordRefusedNames([refused], { action: 'rotate', env: t.env, deny });
  throw new CofferError(
    'ENV_NAME_REFUSED',
    `the previous name ${name} changes how programs load or run code (${refused.reason}); coffer does not inject it unless it is allowed on this machine`,
    {
      hint: refused.allowable
        ? `Pick another name for the previous value (--previous-name NAME), or, if the project really uses ${name}, allow it on this machine: --allow-env-name ${name}, or allow_env_names: ${name} in coffer.yaml (allow_env_names=${name} in a .coffer file). See docs/injection.md.`
        : 'Pick another name for the previous value (--previous-name NAME). See docs/injection.md.',
    },
  );
}

/** Rotates one secret: see the module comment. */
export async function rotateSecret(vault: Vault, options: RotateOptions): Promise<RotateResult> {
  const t = target(options.path, options.env);
  const graceMs = options.graceMs;
  if (!Number.isSafeInteger(graceMs) || graceMs < 0)
    throw new CofferError('INVALID_ARGUMENT', 'the grace window must be 0 or more');
  const previousName =
    options.previousName === undefined || options.previousName === null
      ? undefined
      : parseEnvVarName(options.previousName);
  if (options.generator !== undefined && options.generator !== null)
    parseGeneratorSpec(options.generator);
  if (previousName !== undefined) {
    await assertPreviousName(
      t,
      previousName,
      options.deny ?? ((a, target, reason) => vault.recordDenied(a, target, reason)),
      options.allowEnvNames,
    );
  }
  return vault.secretTransaction('rotate', t, async (s) => {
    const current = await s.read();
    const meta = (await s.tx.getSecret(t.path, t.env))!;
    const generator = options.generator ?? meta.generator;
    const list = readKeyList(current.value, { generator: meta.generator, tier: meta.tier });
    let kind: RotationKind;
    let value: string;
    let primaryKeyId: string | null = null;
    let keys: number | null = null;
    if (list !== undefined) {
      kind = list.format;
      const added = addPrimaryKey(list);
      value = added.value;
      primaryKeyId = added.primaryId;
      keys = list.entries.length + 1;
    } else if (generator !== null) {
      kind = 'generated';
      value = generateSecret(parseGeneratorSpec(generator));
    } else {
      kind = 'external';
      if (options.value === undefined) {
        throw new CofferError(
          'ROTATION_VALUE_REQUIRED',
          `${t.path} (${t.env}) is not generated by coffer: its new value comes from the provider`,
        );
      }
      value = options.value;
      if (options.mayCompare !== false && value === current.value) {
        throw new CofferError(
          'INVALID_VALUE',
          `the new value of ${t.path} (${t.env}) is the current one: make a new one at the provider`,
        );
      }
    }
    const written = await s.write(value, {});
    const now = s.now();
    const doc = await readRotationDoc(s.tx, s.keyring);
    const key = slotKey(t.path, t.env);
    const before = doc.secrets[key] ?? emptySecretRotation();
    const entry: SecretRotation = {
      ...before,
      rotatedAt: now.toISOString(),
      rotatedBy: vault.actor,
      compromisedAt: null,
      previousName: previousName ?? before.previousName ?? null,
      retired: [...before.retired],
    };
    const project = /^project\/([^/]+)\//.exec(t.path)?.[1];
    if (entry.previousName !== null && project !== undefined) {
      // The previous value goes under that name beside the others: it must not be another
      // secret's variable (run and env pull would let that one win, --sync would not).
      const owner = (await s.tx.listSecrets({ scope: 'project', group: project, env: t.env })).find(
        (o) => o.path !== t.path && o.deletedAt === null && secretEnvVar(o) === entry.previousName,
      );
      if (owner !== undefined) {
        throw new CofferError(
          'INVALID_ARGUMENT',
          `the previous name ${entry.previousName} is the variable of ${owner.path}: pick another (--previous-name NAME)`,
        );
      }
    }
    // Only one previous version is injected at a time: an older one still in grace retires
    // (and the result says so: files and programs may still use it).
    let retiredEarly: number | null = null;
    if (before.previousVersion !== null && !entry.retired.includes(before.previousVersion)) {
      entry.retired.push(before.previousVersion);
      if (before.graceUntil !== null && Date.parse(before.graceUntil) > now.getTime())
        retiredEarly = before.previousVersion;
    }
    const keyList = kind === 'envelope' || kind === 'fernet';
    if (graceMs > 0 || keyList) {
      entry.previousVersion = current.version;
      entry.graceUntil = new Date(now.getTime() + graceMs).toISOString();
    } else {
      entry.previousVersion = null;
      entry.graceUntil = null;
      entry.retired.push(current.version);
    }
    entry.keyring = kind === 'envelope' || kind === 'fernet' ? kind : null;
    entry.oldKeys = keyList ? (keys ?? 1) - 1 : 0;
    doc.secrets[key] = entry;
    const step = {
      step: 'rotated',
      at: now.toISOString(),
      detail: `version ${current.version} -> ${written.version} (${kind})`,
    };
    if (options.incidentId !== undefined) {
      const incident = doc.incidents.find((i) => i.id === options.incidentId);
      if (incident === undefined || incident.closedAt !== null)
        throw new CofferError('INVALID_ARGUMENT', 'no open incident with that id');
      incident.steps.push(step);
    } else if (graceMs === 0 || keyList) {
      // A rotation after a leak was reported (report_leak, or an incident run that stopped
      // before rotating) is that incident's rotation when it retires the leaked version at
      // once (a key list keeps its old keys until the data is rewrapped, whoever rotates it);
      // one with a grace window keeps injecting it, and its finish or the incident ends it.
      markIncidentsRotated(doc, t, step);
    }
    await writeRotationDoc(s.tx, s.keyring, doc);
    const result: RotateResult = {
      ...t,
      kind,
      previousVersion: current.version,
      version: written.version,
      graceUntil: entry.graceUntil,
      previousName: entry.previousName,
      keys,
      primaryKeyId,
      retiredEarly,
    };
    return {
      result,
      version: written.version,
      detail: `${kind}, previous v${current.version}, grace ${formatDuration(graceMs)}${
        keyList ? `, ${keys} keys` : ''
      }`,
    };
  });
}

export interface FinishResult {
  path: string;
  env: string;
  /** False when no rotation of this secret was in progress. */
  finished: boolean;
  /** The versions retired now. */
  retired: number[];
  /** A key list: the version holding the primary key only. */
  version: number | null;
  /**
   * The variable the retired value was injected under during the grace window (.env files
   * may still hold it: `coffer env pull` and `rotate --sync` take it out), or null.
   */
  previousName: string | null;
}

/**
 * Ends a rotation: the previous version is retired (no longer injected; reading it warns).
 * A key list keeps only its primary key, in a new version, and only with `rewrapped` (the
 * caller says the data was rewrapped under the new key): otherwise REWRAP_REQUIRED.
 */
export function finishRotation(
  vault: Vault,
  options: { path: string; env: string; rewrapped?: boolean | undefined },
): Promise<FinishResult> {
  const t = target(options.path, options.env);
  return vault.secretTransaction<FinishResult>('rotate_finish', t, async (s) => {
    const doc = await readRotationDoc(s.tx, s.keyring);
    const key = slotKey(t.path, t.env);
    const entry = doc.secrets[key];
    if (entry === undefined || (entry.previousVersion === null && entry.keyring === null)) {
      const current = await s.tx.getSecret(t.path, t.env);
      if (current === undefined)
        throw new CofferError('SECRET_NOT_FOUND', `no secret ${t.path} in environment ${t.env}`);
      return {
        result: { ...t, finished: false, retired: [], version: null, previousName: null },
        detail: 'nothing to finish',
      };
    }
    const retired: number[] = [];
    let version: number | null = null;
    if (entry.keyring !== null) {
      if (options.rewrapped !== true) {
        throw new CofferError(
          'REWRAP_REQUIRED',
          `${t.path} (${t.env}) still holds ${entry.oldKeys} old key(s) that data may be encrypted with`,
        );
      }
      const current = await s.read();
      const meta = (await s.tx.getSecret(t.path, t.env))!;
      const list = readKeyList(current.value, { generator: meta.generator, tier: 3 });
      if (list !== undefined && list.entries.length > 1) {
        const written = await s.write(keepPrimaryKey(list), {});
        version = written.version;
        retired.push(current.version);
      }
    }
    if (entry.previousVersion !== null) retired.push(entry.previousVersion);
    const next: SecretRotation = {
      ...entry,
      previousVersion: null,
      graceUntil: null,
      keyring: null,
      oldKeys: 0,
      retired: [...new Set([...entry.retired, ...retired])].sort((a, b) => a - b),
    };
    doc.secrets[key] = next;
    // Finishing a rotation made since a leak was reported retires the leaked version: that is
    // the open incident's rotation.
    if (entry.previousVersion !== null && entry.rotatedAt !== null) {
      const step = {
        step: 'rotated',
        at: s.now().toISOString(),
        detail: `finished the rotation made since the leak: version ${entry.previousVersion} retired`,
      };
      markIncidentsRotated(doc, t, step, entry.rotatedAt);
    }
    await writeRotationDoc(s.tx, s.keyring, doc);
    return {
      result: {
        ...t,
        finished: true,
        retired,
        version,
        previousName: entry.previousVersion !== null ? entry.previousName : null,
      },
      version,
      detail: `retired ${retired.map((v) => `v${v}`).join(', ') || 'nothing'}`,
    };
  });
}

/** The versions of a secret retired by `rotate --finish` or a rotation without grace. */
export function retiredVersions(vault: Vault, path: string, env: string): Promise<number[]> {
  const t = target(path, env);
  return vault.readTransaction(async (tx, keyring) => {
    const doc = await readRotationDoc(tx, keyring);
    return doc.secrets[slotKey(t.path, t.env)]?.retired ?? [];
  });
}

/**
 * `rotateSecret` for a caller bound by `policy` (the web UI's session): write access to the
 * secret, a new value that refers only to what the policy may read, and no equality answer
 * unless the policy may read the value. Refusals are audited through `deny`.
 */
export async function rotateUnderPolicy(
  vault: Vault,
  policy: AccessPolicy,
  deny: Denier,
  // No allowEnvNames: only this machine's own configuration allows a name, never a caller of
  // the server.
  options: Omit<RotateOptions, 'graceMs' | 'deny' | 'allowEnvNames'> & {
    /** `7d`, `12h`, `0` (duration.ts). */ grace: string;
  },
): Promise<RotateResult> {
  const t = target(options.path, options.env);
  // Decided before anything of the request is read: a caller without write access is refused
  // (and audited) whatever else it sent.
  await authorize(policy, 'write', 'rotate', t, deny);
  if (options.value !== undefined) {
    await authorizeValueReferences(policy, 'rotate', t, options.value, deny);
  }
  const graceMs = parseDuration(options.grace.trim(), 'grace');
  const mayCompare = policy.refusal('read', { ...t, values: true }) === undefined;
  const { grace: _grace, ...rest } = options;
  return rotateSecret(vault, { ...rest, ...t, graceMs, mayCompare, deny, allowEnvNames: [] });
}

/**
 * Whether `path` in `env` was rotated after `since` (an ISO time) and its previous version is
 * still injected in a grace window: the incident response finishes such a rotation instead of
 * rotating again.
 */
export function rotatedSinceInGrace(
  vault: Vault,
  path: string,
  env: string,
  since: string,
): Promise<boolean> {
  const t = target(path, env);
  return vault.readTransaction(async (tx, keyring) => {
    const s = (await readRotationDoc(tx, keyring)).secrets[slotKey(t.path, t.env)];
    return (
      s !== undefined &&
      s.rotatedAt !== null &&
      Date.parse(s.rotatedAt) >= Date.parse(since) &&
      s.previousVersion !== null &&
      s.keyring === null // a key list's old keys go only once the data is rewrapped
    );
  });
}
