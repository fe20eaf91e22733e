/**
 * The vault service: every operation on secrets, with its rules and its audit record.
 *
 * Front ends (CLI, MCP, HTTP) call this and nothing below it, so a rule enforced here holds
 * for all of them. Each operation runs in one storage transaction together with its audit
 * record: if the record cannot be written the operation fails and nothing changes (fail
 * closed). Failed and denied attempts are audited too, in a transaction of their own.
 *
 * Values are strings of at most 64 KiB of UTF-8. They are sealed per version with their own
 * data key (crypto/envelope.ts); they never enter an error message, a log or the audit log.
 *
 * Every transaction that touches keyring, secret or token rows runs through an
 * AuthenticatedTx (authenticated-tx.ts), which MACs what it writes and refuses a row whose
 * MAC fails; a vault written before row MACs is migrated once, in a transaction of its own,
 * the first time it is opened with its master key (row-migration.ts).
 */
import { appendAudit } from '../audit/append.js';
import { openSecret, sealSecret } from '../crypto/envelope.js';
import { CofferError, type ErrorCode } from '../errors.js';
import { Keyring } from '../keys/keyring.js';
import {
  envVarNameFor,
  type KeyPath,
  parseDescription,
  parseEnvironment,
  parseEnvVarName,
  parseKeyPath,
  parsePathPrefix,
} from '../paths.js';
import { parseRotationPolicy } from '../rotation/policy.js';
import { AuthenticatedTx, RowIntegrityError } from './authenticated-tx.js';
import { projectNotFound } from './project-lookup.js';
import { migrateToRowMacs } from './row-migration.js';
import type {
  AuditEntry,
  SecretMetadata,
  SecretRecord,
  Storage,
  StorageTx,
  TxMode,
  TxOptions,
  VersionRecord,
} from './storage.js';

/** Values are limited to 64 KiB of UTF-8. */
export const MAX_VALUE_BYTES: number = 64 * 1024;
export { META_AUDIT_HEAD } from '../audit/head.js';

export interface VaultOptions {
  /** Who acts: `cli:alice`, `token:deploy`, `mcp:claude-code/1.2`. Goes into the audit log. */
  actor: string;
  /** Clock for timestamps (tests). */
  now?: () => Date;
}

export interface SetOptions {
  description?: string | undefined;
  /** Check-and-set: fail with VERSION_CONFLICT unless the current version is this (0 = new). */
  ifVersion?: number | undefined;
  metadata?: Partial<Omit<SecretMetadata, 'description'>> | undefined;
  /** Store an empty value (refused otherwise with EMPTY_VALUE: usually an unset variable). */
  allowEmpty?: boolean | undefined;
}

export interface SetResult {
  path: string;
  env: string;
  version: number;
  created: boolean;
}

export interface SecretValue {
  path: string;
  env: string;
  version: number;
  value: string;
  description: string;
  createdAt: string;
}

/**
 * A copy of `v` with exactly SecretValue's fields, in this order (written out, not spread:
 * a server runs this once per read it answers, and sends it as the answer's JSON).
 */
export function copySecretValue(v: SecretValue): SecretValue {
  return {
    path: v.path,
    env: v.env,
    version: v.version,
    value: v.value,
    description: v.description,
    createdAt: v.createdAt,
  };
}

/** A secret without its value: what list/describe return. */
export type SecretInfo = Omit<SecretRecord, 'mac'>;

export interface VersionInfo {
  version: number;
  createdAt: string;
  actor: string;
  kekId: string;
}

/** A secret as injected into a program or a .env file. */
export interface ProjectSecret {
  path: string;
  name: string;
  /** The environment-variable name: metadata `envVar`, or the name uppercased. */
  envVar: string;
  version: number;
  value: string;
  localOnly: boolean;
}

export interface VerifyItem {
  path: string;
  env: string;
  version: number;
  ok: boolean;
  code?: ErrorCode;
}

export interface VerifyReport {
  ok: boolean;
  checked: number;
  failures: VerifyItem[];
  keyFailures: string[];
  /**
   * Stored rows whose MAC fails, as `table key` (e.g. `tokens 1f2e...`): set by a check of
   * the whole vault (`verify --all`) only; a check of one path fails on its row instead.
   */
  rowFailures?: string[];
}

type Target = { path?: string | null; env?: string | null };
/** An audit record before chaining; `actor` defaults to the vault's own. */
type AuditDraft = Omit<AuditEntry, 'ts' | 'actor'> & { actor?: string };

/** One read of `getMany`: a secret (latest or a given version) read on behalf of `actor`. */
export interface ReadRequest {
  path: string;
  env: string;
  version?: number | undefined;
  /** Who reads, for the audit log (default: the vault's actor). */
  actor?: string | undefined;
}

/** One write of `set` or `setMany`, checked before its transaction. */
interface PreparedSet {
  key: KeyPath;
  env: string;
  plaintext: Uint8Array;
  description: string | undefined;
  ifVersion: number | undefined;
  metadata: Partial<Omit<SecretMetadata, 'description'>>;
}

/** The outcome of one read of `getMany`: its value, or the error it alone failed with. */
export type ReadOutcome = { ok: true; value: SecretValue } | { ok: false; error: unknown };
type OpResult<T> = {
  result: T;
  version?: number | null;
  detail?: string | null;
  outcome?: string;
  /** Records written before the operation's own one (e.g. one per value read). */
  audit?: AuditDraft[];
};

const OUTCOME_BY_CLASS: Record<string, string> = {
  integrity: 'integrity_failure',
  not_found: 'not_found',
  conflict: 'conflict',
  usage: 'invalid',
  failure: 'error',
};

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Thrown where a transaction meets a vault written before row MACs (never leaves Vault). */
class LegacyVault extends Error {}

/** The audit record of a failed operation; undefined when none can or should be written. */
function failureDraft(action: string, target: Target, err: unknown): AuditDraft | undefined {
  const code = err instanceof CofferError ? err.code : 'INTERNAL';
  if (
    code === 'AUDIT_WRITE_FAILED' ||
    code === 'AUDIT_CHAIN_BROKEN' ||
    code === 'VAULT_NOT_FOUND' ||
    code === 'STORE_LOCKED'
  )
    return undefined;
  const outcome =
    code === 'WRONG_KEY'
      ? 'denied'
      : err instanceof CofferError
        ? OUTCOME_BY_CLASS[err.errorClass]!
        : 'error';
  return {
    action,
    path: target.path ?? null,
    env: target.env ?? null,
    version: null,
    outcome,
    detail: err instanceof RowIntegrityError ? `${code} ${err.table} ${err.rowKey}` : code,
  };
}

/** Validates the metadata fields coffer has rules for (tier, rotation policy, env-var name). */
function checkMetadata<T extends Partial<SecretMetadata>>(patch: T): T {
  const clean = { ...patch };
  if (patch.tier !== undefined && patch.tier !== null && ![1, 2, 3].includes(patch.tier)) {
    throw new CofferError('INVALID_ARGUMENT', 'tier must be 1, 2 or 3');
  }
  if (patch.rotation !== undefined && patch.rotation !== null) {
    clean.rotation = parseRotationPolicy(patch.rotation);
  }
  if (patch.envVar !== undefined && patch.envVar !== null) {
    clean.envVar = parseEnvVarName(patch.envVar);
  }
  return clean;
}

// An unpaired surrogate (with the `u` flag a proper pair is one code point, not matched).
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

function missingVersion(path: string, env: string, version: number): CofferError {
  return new CofferError(
    'INTEGRITY_FAILURE',
    `${path} (${env}) version ${version} is missing from the store: it was deleted outside coffer`,
  );
}

/**
 * The refusal of an empty value for `path` (`env`). `source` says where the value came from
 * when the front end knows (`stdin was empty`), so the message points at the cause: an empty
 * pipe, an unset shell variable, Enter at a prompt.
 */
export function emptyValueError(path: string, env: string, source?: string): CofferError {
  return new CofferError(
    'EMPTY_VALUE',
    `refused to store an empty value at ${path} (${env})${source ? `: ${source}` : ''}`,
  );
}

/**
 * The rule for empty values, the same for every front end (CLI, HTTP API, MCP): an empty
 * value is refused unless the caller says it is meant (`allowEmpty`). An empty value is
 * almost always a mistake (`printf %s "$UNSET" | coffer set ...`, Enter at the prompt) and
 * would silently replace a working secret with nothing.
 */
export function assertValueGiven(
  value: string,
  path: string,
  env: string,
  allowEmpty: boolean | undefined,
  source?: string,
): void {
  if (value === '' && allowEmpty !== true) throw emptyValueError(path, env, source);
}

export function valueBytes(value: string): Uint8Array {
  if (typeof value !== 'string') throw new TypeError('value must be a string');
  // UTF-8 has no form for an unpaired UTF-16 surrogate: Buffer.from would store U+FFFD, and
  // the value would read back different from what was set.
  if (LONE_SURROGATE.test(value)) {
    throw new CofferError(
      'INVALID_VALUE',
      'the value is not well-formed Unicode (it holds an unpaired UTF-16 surrogate)',
    );
  }
  // No program can receive a NUL inside an environment variable or argument; refused here,
  // once, for every front end (a value stored earlier is skipped by `coffer run`).
  if (value.includes('\u0000')) {
    throw new CofferError('INVALID_VALUE', 'the value holds a NUL character (U+0000)', {
      hint: 'Store binary data base64-encoded.',
    });
  }
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length > MAX_VALUE_BYTES) {
    throw new CofferError(
      'VALUE_TOO_LARGE',
      `the value is ${bytes.length} bytes; the limit is ${MAX_VALUE_BYTES} bytes (64 KiB)`,
    );
  }
  return bytes;
}

export class Vault {
  readonly storage: Storage;
  readonly #keyring: Keyring;
  readonly #actor: string;
  readonly #now: () => Date;

  /** `masterKey` is the 32-byte master key (or the unlocked keyring of another Vault). */
  constructor(storage: Storage, masterKey: Uint8Array | Keyring, options: VaultOptions) {
    this.storage = storage;
    this.#keyring = masterKey instanceof Keyring ? masterKey : new Keyring(masterKey);
    this.#actor = options.actor;
    this.#now = options.now ?? (() => new Date());
  }

  get actor(): string {
    return this.#actor;
  }

  /**
   * The same vault (storage and unlocked keys) acting as someone else, for the audit log:
   * one per HTTP request (token name and client address) or per MCP client.
   */
  withActor(actor: string): Vault {
    return new Vault(this.storage, this.#keyring, { actor, now: this.#now });
  }

  #ts(): string {
    return this.#now().toISOString();
  }

  /**
   * Appends audit records after checking the stored head (audit/append.ts): a broken chain
   * fails with AUDIT_CHAIN_BROKEN, anything else with AUDIT_WRITE_FAILED, and either rolls
   * the whole transaction back. `keyed` is false only for the denial of a wrong master key.
   */
  async #audit(tx: StorageTx, entries: AuditDraft[], keyed = true): Promise<void> {
    const ts = this.#ts();
    const records = entries.map((d) => ({
      ts,
      actor: d.actor ?? this.#actor,
      action: d.action,
      path: d.path,
      env: d.env,
      version: d.version,
      outcome: d.outcome,
      detail: d.detail,
    }));
    if (keyed) await this.#keyring.unlock(tx);
    await appendAudit(tx, records, keyed ? this.#keyring.subkey('audit-head') : undefined);
  }

  /**
   * Runs `fn` in a storage transaction through an AuthenticatedTx, after checking the master
   * key. A vault written before row MACs is migrated first, in a write transaction of its
   * own (so a read can trigger it too), and `fn` runs after that.
   */
  async #transaction<T>(
    mode: TxMode,
    fn: (tx: AuthenticatedTx) => Promise<T>,
    options?: TxOptions,
  ): Promise<T> {
    const run = () =>
      this.storage.transaction(mode, async (raw) => fn(await this.#open(raw)), options);
    try {
      return await run();
    } catch (err) {
      if (!(err instanceof LegacyVault)) throw err;
    }
    await this.#migrate();
    return run();
  }

  async #open(raw: StorageTx): Promise<AuthenticatedTx> {
    if ((await this.#keyring.unlock(raw)) === 'legacy') throw new LegacyVault();
    return new AuthenticatedTx(raw, this.#keyring.rowMacKey());
  }

  /** MACs the rows of a vault written before row MACs (once; audited). */
  async #migrate(): Promise<void> {
    const done = await this.storage
      .transaction('write', async (raw) => {
        // The audit append below unlocks again and would learn the new (uncommitted) vault id.
        this.#keyring.relock();
        if ((await this.#keyring.unlock(raw)) === 'authenticated') return undefined;
        const m = await migrateToRowMacs(raw, this.#keyring);
        await this.#audit(raw, [
          {
            action: 'vault.migrate',
            path: null,
            env: null,
            version: null,
            outcome: 'ok',
            detail: `row MACs added: ${m.keks} keys, ${m.secrets} secrets, ${m.tokens} tokens`,
          },
        ]).catch((err: unknown) => {
          // A broken audit chain must not keep the rows unauthenticated, nor be healed: the
          // migration commits without its record (nothing was appended), and audited
          // operations stay refused until `coffer audit acknowledge`.
          if (!(err instanceof CofferError && err.code === 'AUDIT_CHAIN_BROKEN')) throw err;
        });
        return m;
      })
      .catch((err: unknown) => {
        // Rolled back: the vault is still as it was, whatever the keyring saw in the transaction.
        this.#keyring.relock();
        throw err;
      });
    if (done !== undefined) this.#keyring.adopt(done.vaultId);
  }

  /** Runs one audited operation in a write transaction. */
  async #op<T>(
    action: string,
    target: Target,
    fn: (tx: StorageTx) => Promise<OpResult<T>>,
  ): Promise<T> {
    try {
      return await this.#transaction('write', async (tx) => {
        const out = await fn(tx);
        await this.#audit(tx, [
          ...(out.audit ?? []),
          {
            action,
            path: target.path ?? null,
            env: target.env ?? null,
            version: out.version ?? null,
            outcome: out.outcome ?? 'ok',
            detail: out.detail ?? null,
          },
        ]);
        return out.result;
      });
    } catch (err) {
      // A broken audit chain outranks the operation's own failure: it is what to fix first.
      throw (await this.#auditFailure(action, target, err)) ?? err;
    }
  }

  async #auditFailure(action: string, target: Target, err: unknown): Promise<unknown> {
    return this.#auditFailures([{ action, target, err }]);
  }

  /**
   * Audits failed operations in one transaction of their own. Never throws: returns the
   * AUDIT_CHAIN_BROKEN error when the chain refused the records, else undefined.
   */
  async #auditFailures(
    failures: { action: string; target: Target; err: unknown; actor?: string | undefined }[],
  ): Promise<unknown> {
    const drafts: AuditDraft[] = [];
    for (const { action, target, err, actor } of failures) {
      const draft = failureDraft(action, target, err);
      if (draft !== undefined) drafts.push(actor === undefined ? draft : { ...draft, actor });
    }
    if (drafts.length === 0) return undefined;
    try {
      await this.storage.transaction('write', async (tx) => {
        // A refused master key cannot vouch for the head: its denial goes in unauthenticated.
        const keyed = await this.#keyring.unlock(tx).then(
          () => true,
          (e: unknown) => {
            if (e instanceof CofferError && e.code === 'WRONG_KEY') return false;
            throw e;
          },
        );
        await this.#audit(tx, drafts, keyed);
      });
    } catch (e) {
      // The operation has failed already; the caller sees its error, not this one.
      if (e instanceof CofferError && e.code === 'AUDIT_CHAIN_BROKEN') return e;
    }
    return undefined;
  }

  /** Runs a read-only operation (not audited: audit and key status reads). */
  #read<T>(fn: (tx: AuthenticatedTx) => Promise<T>): Promise<T> {
    return this.#transaction('read', fn);
  }

  /** Checks one write before any transaction: path, environment, value, description. */
  #prepareSet(path: string, env: string, value: string, options: SetOptions): PreparedSet {
    const key = parseKeyPath(path);
    const e = parseEnvironment(env);
    if (typeof value === 'string') assertValueGiven(value, key.path, e, options.allowEmpty);
    const description =
      options.description === undefined
        ? undefined
        : parseDescription(options.description, key.path);
    const ifVersion = options.ifVersion;
    if (ifVersion !== undefined && (!Number.isSafeInteger(ifVersion) || ifVersion < 0)) {
      throw new CofferError('INVALID_ARGUMENT', 'the expected version must be a whole number >= 0');
    }
    const metadata = checkMetadata(options.metadata ?? {});
    const plaintext = valueBytes(value);
    return { key, env: e, plaintext, description, ifVersion, metadata };
  }

  /** Writes one prepared version inside `tx` (the caller audits it). */
  async #setIn(tx: StorageTx, p: PreparedSet): Promise<SetResult> {
    const { key, env: e, description, ifVersion } = p;
    const existing = await tx.getSecret(key.path, e);
    const current = existing?.currentVersion ?? 0;
    if (ifVersion !== undefined && ifVersion !== current) {
      throw new CofferError(
        'VERSION_CONFLICT',
        `${key.path} (${e}) is at version ${current}, not ${ifVersion}`,
      );
    }
    if (existing === undefined && description === undefined) {
      throw new CofferError(
        'INVALID_DESCRIPTION',
        `a description is required to create ${key.path}`,
        {
          hint: 'Pass --description "what it is for", e.g. "Stripe API key for payment processing".',
        },
      );
    }
    const version = current + 1;
    const slot = { path: key.path, env: e, version };
    const kek = await this.#keyring.primary(tx);
    const sealed = sealSecret(kek.key, kek.id, p.plaintext, slot);
    const ts = this.#ts();
    await tx.insertVersion({
      ...slot,
      kekId: kek.id,
      wrappedDek: sealed.wrappedDek,
      ciphertext: sealed.ciphertext,
      createdAt: ts,
      actor: this.#actor,
    });
    const meta = p.metadata;
    if (existing === undefined) {
      await tx.insertSecret({
        path: key.path,
        env: e,
        description: description!,
        currentVersion: version,
        tier: meta.tier ?? null,
        rotation: meta.rotation ?? null,
        envVar: meta.envVar ?? null,
        localOnly: meta.localOnly ?? false,
        generator: meta.generator ?? null,
        createdAt: ts,
        updatedAt: ts,
        deletedAt: null,
      });
    } else {
      await tx.updateSecret(key.path, e, {
        ...meta,
        ...(description !== undefined ? { description } : {}),
        currentVersion: version,
        updatedAt: ts,
        deletedAt: null,
      });
    }
    return { path: key.path, env: e, version, created: existing === undefined };
  }

  /** Stores a new version of a secret (creating it, or reviving a deleted one). */
  async set(
    path: string,
    env: string,
    value: string,
    options: SetOptions = {},
  ): Promise<SetResult> {
    const p = this.#prepareSet(path, env, value, options);
    try {
      return await this.#op('set', { path: p.key.path, env: p.env }, async (tx) => {
        const result = await this.#setIn(tx, p);
        return { result, version: result.version };
      });
    } finally {
      p.plaintext.fill(0);
    }
  }

  /**
   * Stores several secrets in one transaction: all of them or none (`coffer env import`).
   * Every write is checked before the transaction starts (path, environment, value,
   * description) and again inside it (a missing description, `ifVersion`); the first
   * refusal rolls every write back. Each write gets its own `set` audit record, and the
   * whole its `set_many` record (detail: how many, and `purpose`).
   */
  async setMany(
    writes: readonly { path: string; env: string; value: string; options?: SetOptions }[],
    purpose: string,
  ): Promise<SetResult[]> {
    const prepared: PreparedSet[] = [];
    try {
      const seen = new Set<string>();
      for (const w of writes) {
        const p = this.#prepareSet(w.path, w.env, w.value, w.options ?? {});
        prepared.push(p);
        const slot = `${p.key.path}\n${p.env}`;
        if (seen.has(slot)) {
          throw new CofferError(
            'INVALID_ARGUMENT',
            `${p.key.path} (${p.env}) is written twice in one batch`,
          );
        }
        seen.add(slot);
      }
      const envs = [...new Set(prepared.map((p) => p.env))];
      return await this.#op(
        'set_many',
        { env: envs.length === 1 ? envs[0]! : null },
        async (tx) => {
          const results: SetResult[] = [];
          const audit: AuditDraft[] = [];
          for (const p of prepared) {
            const r = await this.#setIn(tx, p);
            results.push(r);
            audit.push({
              action: 'set',
              path: r.path,
              env: r.env,
              version: r.version,
              outcome: 'ok',
              detail: purpose,
            });
          }
          return { result: results, detail: `${results.length} secrets for ${purpose}`, audit };
        },
      );
    } finally {
      for (const p of prepared) p.plaintext.fill(0);
    }
  }

  async #liveSecret(tx: StorageTx, key: KeyPath, env: string): Promise<SecretRecord> {
    const secret = await tx.getSecret(key.path, env);
    if (secret === undefined) {
      throw new CofferError('SECRET_NOT_FOUND', `no secret ${key.path} in environment ${env}`);
    }
    if (secret.deletedAt !== null) {
      throw new CofferError('SECRET_DELETED', `${key.path} (${env}) was deleted`);
    }
    return secret;
  }

  async #decrypt(tx: StorageTx, rec: VersionRecord): Promise<Buffer> {
    const kek = await this.#keyring.kek(tx, rec.kekId);
    return openSecret(kek, rec.kekId, rec.wrappedDek, rec.ciphertext, {
      path: rec.path,
      env: rec.env,
      version: rec.version,
    });
  }

  /** Checks a wanted version number (undefined: the latest). */
  #wantedVersion(wanted: number | undefined): number | undefined {
    if (wanted !== undefined && (!Number.isSafeInteger(wanted) || wanted < 1)) {
      throw new CofferError('INVALID_ARGUMENT', 'the version must be a whole number >= 1');
    }
    return wanted;
  }

  /** Opens the latest (or `wanted`) version of a live secret inside a transaction. */
  async #readValue(
    tx: StorageTx,
    key: KeyPath,
    e: string,
    wanted: number | undefined,
  ): Promise<SecretValue> {
    const secret = await this.#liveSecret(tx, key, e);
    const version = wanted ?? secret.currentVersion;
    const rec = await tx.getVersion(key.path, e, version);
    if (rec === undefined) {
      // Versions 1..current are never removed by coffer: one missing was deleted outside it.
      if (version <= secret.currentVersion) throw missingVersion(key.path, e, version);
      throw new CofferError('VERSION_NOT_FOUND', `${key.path} (${e}) has no version ${version}`);
    }
    const plain = await this.#decrypt(tx, rec);
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

  /** Reads the latest (or a given) version of a secret. */
  async get(
    path: string,
    env: string,
    options: { version?: number | undefined } = {},
  ): Promise<SecretValue> {
    const key = parseKeyPath(path);
    const e = parseEnvironment(env);
    const wanted = this.#wantedVersion(options.version);
    return this.#op('get', { path: key.path, env: e }, async (tx) => {
      const result = await this.#readValue(tx, key, e, wanted);
      return { result, version: result.version };
    });
  }

  /**
   * Many reads in one write transaction (group commit: a server batches the reads that
   * arrive together, so they share one commit instead of one each). Each read gets its own
   * audit record (action `get`, its own actor), exactly as `get` writes it; a read that
   * fails alone (not found, deleted, bad path) fails alone and is audited as failed. No
   * value is returned before the transaction holding every record has committed: when it
   * fails, every read fails with its error. Reads of the same secret and version in one
   * batch decrypt it once (one record each all the same).
   *
   * With `deferSync` the values are returned once the transaction has committed, before
   * the commit is on disk (see TxOptions: a power loss right after can lose the records).
   */
  async getMany(
    requests: readonly ReadRequest[],
    options: { deferSync?: boolean } = {},
  ): Promise<ReadOutcome[]> {
    const outcomes: ReadOutcome[] = [];
    const parsed: ({ key: KeyPath; env: string; wanted: number | undefined } | undefined)[] = [];
    for (const r of requests) {
      try {
        const key = parseKeyPath(r.path);
        parsed.push({ key, env: parseEnvironment(r.env), wanted: this.#wantedVersion(r.version) });
        outcomes.push({ ok: false, error: undefined });
      } catch (error) {
        parsed.push(undefined);
        outcomes.push({ ok: false, error });
      }
    }
    const failed: { action: string; target: Target; err: unknown; actor?: string }[] = [];
    try {
      await this.#transaction(
        'write',
        async (tx) => {
          const drafts: AuditDraft[] = [];
          // The same secret read twice in one transaction reads the same row: open it once.
          const opened = new Map<string, SecretValue>();
          for (let i = 0; i < requests.length; i++) {
            const p = parsed[i];
            if (p === undefined) continue;
            const actor = requests[i]!.actor ?? this.#actor;
            try {
              const slot = `${p.key.path}\n${p.env}\n${p.wanted ?? ''}`;
              let v = opened.get(slot);
              if (v === undefined) {
                v = await this.#readValue(tx, p.key, p.env, p.wanted);
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
          if (drafts.length > 0) await this.#audit(tx, drafts);
        },
        options,
      );
    } catch (err) {
      for (let i = 0; i < requests.length; i++) {
        const p = parsed[i];
        if (p === undefined) continue;
        outcomes[i] = { ok: false, error: err };
        const actor = requests[i]!.actor ?? this.#actor;
        failed.push({ action: 'get', target: { path: p.key.path, env: p.env }, err, actor });
      }
      await this.#auditFailures(failed);
    }
    return outcomes;
  }

  /**
   * Lists secrets (metadata only, never values). `prefix` is `project`, `meta`,
   * `project/P` or `meta/S`; `env` undefined lists every environment.
   */
  async list(
    options: {
      prefix?: string | undefined;
      env?: string | undefined;
      includeDeleted?: boolean;
    } = {},
  ): Promise<SecretInfo[]> {
    const prefix = options.prefix === undefined ? undefined : parsePathPrefix(options.prefix);
    const env = options.env === undefined ? undefined : parseEnvironment(options.env);
    return this.#op('list', { path: options.prefix ?? null, env: env ?? null }, async (tx) => {
      const items = await tx.listSecrets({
        ...(prefix !== undefined ? { scope: prefix.scope } : {}),
        ...(prefix?.group !== undefined ? { group: prefix.group } : {}),
        ...(env !== undefined ? { env } : {}),
        includeDeleted: options.includeDeleted ?? false,
      });
      return { result: items, detail: `${items.length} items` };
    });
  }

  /**
   * Reads every live secret of a project in one environment (for `run` and `env pull`).
   * Each value read gets its own audit record (action `get`, detail `purpose`), written in
   * the same transaction; nothing is returned unless all of them are written. `allows`
   * narrows the read to some key paths and environments (a server token's globs and
   * environments): the others are not opened, nor named in errors.
   *
   * A project with no live secret the caller may read in `env` is refused (not found,
   * project-lookup.ts): PROJECT_NOT_FOUND or ENVIRONMENT_NOT_FOUND, naming the projects or
   * environments that exist and the closest match, so a mistyped name never runs a program
   * without its secrets.
   */
  async readProject(
    project: string,
    env: string,
    purpose: string,
    allows: (path: string, env: string) => boolean = () => true,
  ): Promise<ProjectSecret[]> {
    const prefix = parsePathPrefix(`project/${project}`);
    const e = parseEnvironment(env);
    return this.#op('read_project', { path: `project/${prefix.group}`, env: e }, async (tx) => {
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
        const plain = await this.#decrypt(tx, rec);
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

  /** The metadata of one secret (deleted ones included). */
  async info(path: string, env: string): Promise<SecretInfo> {
    const key = parseKeyPath(path);
    const e = parseEnvironment(env);
    return this.#op('describe', { path: key.path, env: e }, async (tx) => {
      const secret = await tx.getSecret(key.path, e);
      if (secret === undefined)
        throw new CofferError('SECRET_NOT_FOUND', `no secret ${key.path} in environment ${e}`);
      return { result: secret, version: secret.currentVersion };
    });
  }

  /** The versions of a secret, oldest first, without values. */
  async history(
    path: string,
    env: string,
  ): Promise<{ secret: SecretInfo; versions: VersionInfo[] }> {
    const key = parseKeyPath(path);
    const e = parseEnvironment(env);
    return this.#op('history', { path: key.path, env: e }, async (tx) => {
      const secret = await tx.getSecret(key.path, e);
      if (secret === undefined)
        throw new CofferError('SECRET_NOT_FOUND', `no secret ${key.path} in environment ${e}`);
      const versions = (await tx.listVersions(key.path, e)).map((v) => ({
        version: v.version,
        createdAt: v.createdAt,
        actor: v.actor,
        kekId: v.kekId,
      }));
      return { result: { secret, versions }, version: secret.currentVersion };
    });
  }

  /** Soft-deletes a secret: values stay stored and `restore` brings it back. */
  async delete(
    path: string,
    env: string,
  ): Promise<{ path: string; env: string; alreadyDeleted: boolean }> {
    const key = parseKeyPath(path);
    const e = parseEnvironment(env);
    return this.#op('delete', { path: key.path, env: e }, async (tx) => {
      const secret = await tx.getSecret(key.path, e);
      if (secret === undefined)
        throw new CofferError('SECRET_NOT_FOUND', `no secret ${key.path} in environment ${e}`);
      const already = secret.deletedAt !== null;
      if (!already)
        await tx.updateSecret(key.path, e, { deletedAt: this.#ts(), updatedAt: this.#ts() });
      return {
        result: { path: key.path, env: e, alreadyDeleted: already },
        version: secret.currentVersion,
      };
    });
  }

  /** Undoes a soft delete. */
  async restore(
    path: string,
    env: string,
  ): Promise<{ path: string; env: string; version: number; wasDeleted: boolean }> {
    const key = parseKeyPath(path);
    const e = parseEnvironment(env);
    return this.#op('restore', { path: key.path, env: e }, async (tx) => {
      const secret = await tx.getSecret(key.path, e);
      if (secret === undefined)
        throw new CofferError('SECRET_NOT_FOUND', `no secret ${key.path} in environment ${e}`);
      const was = secret.deletedAt !== null;
      if (was) await tx.updateSecret(key.path, e, { deletedAt: null, updatedAt: this.#ts() });
      return {
        result: { path: key.path, env: e, version: secret.currentVersion, wasDeleted: was },
        version: secret.currentVersion,
      };
    });
  }

  /** Changes metadata (description, tier, rotation policy, env-var name, local-only, generator). */
  async describe(path: string, env: string, patch: Partial<SecretMetadata>): Promise<SecretInfo> {
    const key = parseKeyPath(path);
    const e = parseEnvironment(env);
    const clean = checkMetadata(patch);
    if (patch.description !== undefined)
      clean.description = parseDescription(patch.description, key.path);
    return this.#op('describe', { path: key.path, env: e }, async (tx) => {
      const secret = await tx.getSecret(key.path, e);
      if (secret === undefined)
        throw new CofferError('SECRET_NOT_FOUND', `no secret ${key.path} in environment ${e}`);
      const changed = Object.keys(clean);
      if (changed.length > 0)
        await tx.updateSecret(key.path, e, { ...clean, updatedAt: this.#ts() });
      return {
        result: { ...secret, ...clean, ...(changed.length ? { updatedAt: this.#ts() } : {}) },
        version: secret.currentVersion,
        detail: changed.length ? `changed ${changed.sort().join(',')}` : null,
      };
    });
  }

  /**
   * Decrypts every stored version of one secret, and checks that versions 1..current all
   * exist (coffer never removes one; a missing one was deleted outside it).
   */
  async #verifyVersions(
    tx: StorageTx,
    secret: Pick<SecretRecord, 'path' | 'env' | 'currentVersion'>,
    report: VerifyReport,
  ): Promise<void> {
    const versions = await tx.listVersions(secret.path, secret.env);
    const present = new Set(versions.map((v) => v.version));
    for (let v = 1; v <= secret.currentVersion; v++) {
      if (present.has(v)) continue;
      report.checked++;
      report.failures.push({
        path: secret.path,
        env: secret.env,
        version: v,
        ok: false,
        code: 'INTEGRITY_FAILURE',
      });
    }
    for (const rec of versions) {
      report.checked++;
      try {
        (await this.#decrypt(tx, rec)).fill(0);
      } catch (err) {
        const code = err instanceof CofferError ? err.code : 'INTERNAL';
        report.failures.push({
          path: rec.path,
          env: rec.env,
          version: rec.version,
          ok: false,
          code,
        });
      }
    }
  }

  /**
   * Decrypts and authenticates every version of one secret (path + env), or of every secret
   * in the vault when `path` is undefined, plus every sealed key in the keyring and the MAC
   * of every keyring, secret and token row.
   */
  async verify(path?: string, env?: string): Promise<VerifyReport> {
    const key = path === undefined ? undefined : parseKeyPath(path);
    const e = env === undefined ? undefined : parseEnvironment(env);
    const report: VerifyReport = { ok: true, checked: 0, failures: [], keyFailures: [] };
    const rowFailures: string[] = [];
    const target = { path: key?.path ?? null, env: e ?? null };
    try {
      await this.#read(async (tx) => {
        if (key !== undefined) {
          // Through the MAC check: a secret row that fails it fails the whole command.
          const secrets =
            e !== undefined
              ? [await tx.getSecret(key.path, e)].filter((s) => s !== undefined)
              : (
                  await tx.listSecrets({
                    scope: key.scope,
                    group: key.group,
                    includeDeleted: true,
                  })
                ).filter((s) => s.path === key.path);
          if (secrets.length === 0) {
            throw new CofferError(
              'SECRET_NOT_FOUND',
              `no secret ${key.path}${e ? ` in environment ${e}` : ''}`,
            );
          }
          for (const s of secrets) await this.#verifyVersions(tx, s, report);
        } else {
          const rows = await tx.checkRows();
          for (const f of rows.failures) rowFailures.push(`${f.table} ${f.key}`);
          report.rowFailures = rowFailures;
          report.keyFailures = this.#keyring.checkAll(rows.keks);
          for (const s of rows.secrets) await this.#verifyVersions(tx, s, report);
        }
      });
    } catch (err) {
      await this.#auditFailure('verify', target, err);
      throw err;
    }
    const failed = report.failures.length + report.keyFailures.length + rowFailures.length;
    report.ok = failed === 0;
    await this.storage.transaction('write', (tx) =>
      this.#audit(tx, [
        {
          ...target,
          action: 'verify',
          version: null,
          outcome: report.ok ? 'ok' : 'integrity_failure',
          detail: `${report.checked} checked, ${failed} failed`,
        },
      ]),
    );
    return report;
  }

  /**
   * Audits a request a front end refused before it reached the vault (a server token outside
   * its paths, environments or capabilities, or an unknown token): outcome `denied`, the
   * vault's actor, `reason` as the detail. Fails with AUDIT_WRITE_FAILED like any record.
   */
  async recordDenied(
    action: string,
    target: { path?: string | null | undefined; env?: string | null | undefined },
    reason: string,
  ): Promise<void> {
    await this.#transaction('write', (tx) =>
      this.#audit(tx, [
        {
          action,
          path: target.path ?? null,
          env: target.env ?? null,
          version: null,
          outcome: 'denied',
          detail: reason,
        },
      ]),
    );
  }

  /**
   * Runs `fn` in a read transaction after checking the master key (used by audit, keys and
   * the server's token lookups). A stored row that fails its MAC is audited and refused.
   */
  async readTransaction<T>(fn: (tx: StorageTx, keyring: Keyring) => Promise<T>): Promise<T> {
    try {
      return await this.#read((tx) => fn(tx, this.#keyring));
    } catch (err) {
      if (err instanceof RowIntegrityError) await this.#auditFailure('read', err.target, err);
      throw err;
    }
  }

  /** Runs an audited write operation (used by key rotation). */
  auditedTransaction<T>(
    action: string,
    fn: (tx: StorageTx, keyring: Keyring) => Promise<{ result: T; detail?: string | null }>,
  ): Promise<T> {
    return this.#op(action, {}, (tx) => fn(tx, this.#keyring));
  }

  /** Wipes key material held by this object. The storage stays open (its owner closes it). */
  close(): void {
    this.#keyring.close();
  }
}
