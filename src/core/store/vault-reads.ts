/**
 * The vault's reads of values: one secret (`get`), many in one transaction (`getMany`, the
 * server's group commit) and every live secret of a project (`readProject`, for `run` and
 * `env pull`). Each value read gets its own audit record in the transaction that reads it;
 * no value is returned before that record has committed.
 *
 * `get` and `getMany` are hot paths (a server answers each read through them): no work here
 * beyond the read, its decryption and its record.
 */
import { createHmac } from 'node:crypto';
import { CofferError } from '../errors.js';
import {
  envVarNameFor,
  type KeyPath,
  parseEnvironment,
  parseKeyPath,
  parsePathPrefix,
} from '../paths.js';
import type { AuditDraft, AuditedStore, Failure } from './audited-store.js';
import { failureDraft } from './audited-store.js';
import { projectNotFound } from './project-lookup.js';
import type { SecretRecord, StorageTx, TxOptions, VersionRecord } from './storage.js';
import {
  copySecretValue,
  type ProjectSecret,
  type ReadOutcome,
  type ReadRequest,
  type SecretValue,
} from './vault-types.js';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function missingVersion(path: string, env: string, version: number): CofferError {
  return new CofferError(
    'INTEGRITY_FAILURE',
    `${path} (${env}) version ${version} is missing from the store: it was deleted outside coffer`,
  );
}

async function liveSecret(tx: StorageTx, key: KeyPath, env: string): Promise<SecretRecord> {
  return live(await tx.getSecret(key.path, env), key, env);
}

function live(secret: SecretRecord | undefined, key: KeyPath, env: string): SecretRecord {
  if (secret === undefined) {
    throw new CofferError('SECRET_NOT_FOUND', `no secret ${key.path} in environment ${env}`);
  }
  if (secret.deletedAt !== null) {
    throw new CofferError('SECRET_DELETED', `${key.path} (${env}) was deleted`);
  }
  return secret;
}

/** Checks a wanted version number (undefined: the latest). */
function wantedVersion(wanted: number | undefined): number | undefined {
  if (wanted !== undefined && (!Number.isSafeInteger(wanted) || wanted < 1)) {
    throw new CofferError('INVALID_ARGUMENT', 'the version must be a whole number >= 1');
  }
  return wanted;
}

/** Opens the latest (or `wanted`) version of a live secret inside a transaction. */
async function readValue(
  store: AuditedStore,
  tx: StorageTx,
  key: KeyPath,
  e: string,
  wanted: number | undefined,
): Promise<SecretValue> {
  let secret: SecretRecord;
  let rec: VersionRecord | undefined;
  if (tx.getSecretVersion !== undefined) {
    // One round trip where the storage can: the row and the version it names.
    const both = await tx.getSecretVersion(key.path, e, wanted);
    secret = live(both?.secret, key, e);
    rec = both?.version;
  } else {
    secret = await liveSecret(tx, key, e);
    rec = await tx.getVersion(key.path, e, wanted ?? secret.currentVersion);
  }
  const version = wanted ?? secret.currentVersion;
  if (rec === undefined) {
    // Versions 1..current are never removed by coffer: one missing was deleted outside it.
    if (version <= secret.currentVersion) throw missingVersion(key.path, e, version);
    throw new CofferError('VERSION_NOT_FOUND', `${key.path} (${e}) has no version ${version}`);
  }
  if (rec.path !== key.path || rec.env !== e || rec.version !== version) {
    // Never open a row other than the one asked for (the envelope is bound to the row's own).
    throw new CofferError(
      'INTEGRITY_FAILURE',
      `${key.path} (${e}) version ${version}: the store returned another version row`,
    );
  }
  const plain = await store.decrypt(tx, rec);
  let value: string;
  try {
    value = utf8.decode(plain);
  } catch {
    throw new CofferError(
      'INTEGRITY_FAILURE',
      `${key.path} (${e}) version ${version} is not valid UTF-8`,
    );
  } finally {
    plain.fill(0);
  }
  return {
    path: key.path,
    env: e,
    version,
    value,
    description: secret.description,
    createdAt: rec.createdAt,
  };
}

/** Opens a version inside a transaction the caller runs and audits (a rotation). */
export function readInTransaction(
  store: AuditedStore,
  tx: StorageTx,
  path: string,
  env: string,
  version: number | undefined,
): Promise<SecretValue> {
  return readValue(store, tx, parseKeyPath(path), parseEnvironment(env), wantedVersion(version));
}

/** Reads the latest (or a given) version of a secret. */
export async function getSecret(
  store: AuditedStore,
  path: string,
  env: string,
  options: { version?: number | undefined },
): Promise<SecretValue> {
  const key = parseKeyPath(path);
  const e = parseEnvironment(env);
  const wanted = wantedVersion(options.version);
  return store.op('get', { path: key.path, env: e }, async (tx) => {
    const result = await readValue(store, tx, key, e, wanted);
    return { result, version: result.version };
  });
}

/** Many reads in one write transaction: see Vault.getMany. */
export async function getMany(
  store: AuditedStore,
  requests: readonly ReadRequest[],
  options: TxOptions,
): Promise<ReadOutcome[]> {
  const outcomes: ReadOutcome[] = [];
  const parsed: ({ key: KeyPath; env: string; wanted: number | undefined } | undefined)[] = [];
  for (const r of requests) {
    try {
      const key = parseKeyPath(r.path);
      parsed.push({ key, env: parseEnvironment(r.env), wanted: wantedVersion(r.version) });
      outcomes.push({ ok: false, error: undefined });
    } catch (error) {
      parsed.push(undefined);
      outcomes.push({ ok: false, error });
    }
  }
  const failed: Failure[] = [];
  try {
    await store.transaction(
      'write',
      async (tx) => {
        const drafts: AuditDraft[] = [];
        // The same secret read twice in one transaction reads the same row: open it once.
        const opened = new Map<string, SecretValue>();
        for (let i = 0; i < requests.length; i++) {
          const p = parsed[i];
          if (p === undefined) continue;
          const actor = requests[i]!.actor ?? store.actor;
          try {
            const slot = `${p.key.path}\n${p.env}\n${p.wanted ?? ''}`;
            let v = opened.get(slot);
            if (v === undefined) {
              v = await readValue(store, tx, p.key, p.env, p.wanted);
              opened.set(slot, v);
            }
            // Each caller gets its own object.
            outcomes[i] = { ok: true, value: copySecretValue(v) };
            drafts.push({
              action: 'get',
              path: p.key.path,
              env: p.env,
              version: v.version,
              outcome: 'ok',
              detail: null,
              actor,
            });
          } catch (error) {
            // Only the read's own refusals are per read; a storage failure fails them all.
            if (!(error instanceof CofferError)) throw error;
            outcomes[i] = { ok: false, error };
            const draft = failureDraft('get', { path: p.key.path, env: p.env }, error);
            if (draft !== undefined) drafts.push({ ...draft, actor });
          }
        }
        if (drafts.length > 0) await store.audit(tx, drafts);
      },
      options,
    );
  } catch (err) {
    for (let i = 0; i < requests.length; i++) {
      const p = parsed[i];
      if (p === undefined) continue;
      outcomes[i] = { ok: false, error: err };
      const actor = requests[i]!.actor ?? store.actor;
      failed.push({ action: 'get', target: { path: p.key.path, env: p.env }, err, actor });
    }
    await store.auditFailures(failed);
  }
  return outcomes;
}

/** Every live secret of a project in one environment: see Vault.readProject. */
export async function readProject(
  store: AuditedStore,
  project: string,
  env: string,
  purpose: string,
  allows: (path: string, env: string) => boolean,
): Promise<ProjectSecret[]> {
  const prefix = parsePathPrefix(`project/${project}`);
  const e = parseEnvironment(env);
  return store.op('read_project', { path: `project/${prefix.group}`, env: e }, async (tx) => {
    const all = await tx.listSecrets({ scope: 'project', group: prefix.group!, env: e });
    const secrets = all.filter((s) => allows(s.path, e));
    if (secrets.length === 0) {
      const visible = (await tx.listSecrets({ scope: 'project' })).filter((s) =>
        allows(s.path, s.env),
      );
      throw projectNotFound(prefix.group!, e, visible);
    }
    const out: ProjectSecret[] = [];
    const reads: AuditDraft[] = [];
    for (const s of secrets) {
      const rec = await tx.getVersion(s.path, e, s.currentVersion);
      if (rec === undefined) throw missingVersion(s.path, e, s.currentVersion);
      const plain = await store.decrypt(tx, rec);
      let value: string;
      try {
        value = utf8.decode(plain);
      } catch {
        throw new CofferError('INTEGRITY_FAILURE', `${s.path} (${e}) is not valid UTF-8`);
      } finally {
        plain.fill(0);
      }
      const name = parseKeyPath(s.path).name;
      out.push({
        path: s.path,
        name,
        envVar: s.envVar ?? envVarNameFor(name),
        version: s.currentVersion,
        value,
        localOnly: s.localOnly,
      });
      reads.push({
        action: 'get',
        path: s.path,
        env: e,
        version: s.currentVersion,
        outcome: 'ok',
        detail: purpose,
      });
    }
    return { result: out, detail: `${out.length} secrets for ${purpose}`, audit: reads };
  });
}

/** Keyed digests of stored versions (no value leaves): see Vault.valueDigests. */
export async function valueDigests(
  store: AuditedStore,
  scope: string,
  items: readonly { path: string; env: string; version: number }[],
  key: Uint8Array,
): Promise<Buffer[]> {
  const prefix = parsePathPrefix(scope);
  const under =
    prefix.group === undefined ? `${prefix.scope}/` : `${prefix.scope}/${prefix.group}/`;
  return store.op('compare', { path: scope }, async (tx) => {
    const out: Buffer[] = [];
    for (const it of items) {
      if (!it.path.startsWith(under)) {
        throw new CofferError('INVALID_ARGUMENT', `${it.path} is not under ${scope}`);
      }
      const rec = await tx.getVersion(it.path, it.env, it.version);
      if (rec === undefined) throw missingVersion(it.path, it.env, it.version);
      const plain = await store.decrypt(tx, rec);
      try {
        out.push(createHmac('sha256', key).update(plain).digest());
      } finally {
        plain.fill(0);
      }
    }
    return { result: out, detail: `keyed digests of ${items.length} versions, no value returned` };
  });
}
