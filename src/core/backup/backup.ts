/**
 * Backup, verification and restore of a whole vault (`coffer backup`, `coffer backup verify`,
 * `coffer backup restore`).
 *
 * - A backup is one consistent snapshot: every row is read in a single read transaction
 *   (SQLite: one WAL read snapshot; PostgreSQL: REPEATABLE READ), so writers keep going and
 *   the copy is the vault as of one commit. Rows are copied as stored (sealed values, wrapped
 *   keys, row MACs, the audit chain and its authenticated head), so nothing is decrypted to
 *   take it. The plaintext (format.ts) is then encrypted with age (age.ts).
 * - Verification loads a snapshot into a scratch store (in memory) and runs the vault's own
 *   checks on it: the master key, every row MAC, every key-encryption key, every secret
 *   version opened, the audit chain and its head. Nothing is written anywhere else.
 * - A restore copies the rows into an empty store (any other content refuses it) and runs
 *   the same checks there, then records the restore in the restored audit chain, all in one
 *   write transaction: a backup that fails a check leaves the target empty. Each row is
 *   written once and each check runs once (the audit chain is walked once, linearly).
 * - A token whose path globs are beyond the caps new tokens have (globs.ts, `globsBeyondCaps`)
 *   is no failure: an earlier coffer made such tokens. A backup names it when taken,
 *   verification reports it as a warning, and a restore brings it back revoked, revoking it
 *   as `coffer token revoke` does (a new row MAC, a `token_revoke` record), so that no globs
 *   a new token could not have are ever used again, whoever wrote the backup.
 */
import { globsBeyondCaps } from '../access/globs.js';
import { verifyAudit } from '../audit/log.js';
import { CofferError } from '../errors.js';
import { META_FORMAT } from '../store/formats.js';
import type { AuditRecord, Storage, StorageTx, TokenRecord } from '../store/storage.js';
import { Vault, type VerifyReport } from '../store/vault.js';
import { type BackupEncryption, openBackupSealer } from './age.js';
import {
  BACKUP_FORMAT,
  BACKUP_VERSION,
  type BackupHeader,
  countRows,
  encodeSnapshotTo,
  headerLocation,
  type Snapshot,
} from './format.js';

/** Audit records read per query while taking a snapshot. */
const AUDIT_PAGE = 5000;
/** Rows written per bulk insert call while restoring. */
const COPY_BATCH = 5000;

export interface SnapshotOptions {
  /** The master key to put in the backup (`--include-master-key`). */
  masterKey?: Uint8Array | undefined;
  now?: (() => Date) | undefined;
}

/** Reads every row of the store in one read transaction. */
export async function takeSnapshot(
  storage: Storage,
  options: SnapshotOptions = {},
): Promise<Snapshot> {
  const createdAt = (options.now ?? (() => new Date()))().toISOString();
  return storage.transaction('read', async (tx) => {
    const meta = await tx.listMeta();
    const keks = await tx.listKeks();
    const secrets = await tx.listSecrets({ includeDeleted: true });
    const versions = await tx.listAllVersions();
    const tokens = await tx.listTokens();
    const audit: AuditRecord[] = [];
    for (;;) {
      const page = await tx.listAudit({
        afterSeq: audit[audit.length - 1]?.seq ?? 0,
        limit: AUDIT_PAGE,
      });
      for (const r of page) audit.push(r);
      if (page.length < AUDIT_PAGE) break;
    }
    const rows = { meta, keks, secrets, versions, tokens, audit };
    const last = audit[audit.length - 1];
    const header: BackupHeader = {
      format: BACKUP_FORMAT,
      version: BACKUP_VERSION,
      source: { kind: storage.kind, location: headerLocation(storage.location) },
      createdAt,
      vaultFormat: meta.find((m) => m.key === META_FORMAT)?.value ?? '',
      counts: countRows(rows),
      auditHead: last === undefined ? null : { seq: last.seq, hash: last.hash },
      masterKeyIncluded: options.masterKey !== undefined,
    };
    const masterKey =
      options.masterKey === undefined ? undefined : new Uint8Array(options.masterKey);
    return { header, ...rows, masterKey };
  });
}

export interface CreateBackupOptions extends SnapshotOptions {
  encryption: BackupEncryption;
}

export interface CreatedBackup {
  /** The age-encrypted backup file. */
  file: Uint8Array;
  header: BackupHeader;
  /** Tokens in it whose path globs are beyond the caps: a restore brings them back revoked. */
  tokensBeyondCaps: TokenBeyondCaps[];
}

/**
 * Takes a snapshot of the vault and encrypts it. The master key is checked first (and a
 * vault written before row MACs is migrated), so a backup is always of an unlocked vault.
 * Writing the file and recording the backup (`recordBackup`) are the caller's.
 */
export async function createBackup(
  vault: Vault,
  options: CreateBackupOptions,
): Promise<CreatedBackup> {
  // The passphrase's scrypt runs on the thread pool while the vault is read.
  const opening = openBackupSealer(options.encryption);
  opening.catch(() => undefined);
  await vault.readTransaction(async () => undefined);
  const snapshot = await takeSnapshot(vault.storage, options);
  try {
    const sealer = await opening;
    encodeSnapshotTo(snapshot, (piece) => {
      sealer.push(piece);
      piece.fill(0);
    });
    const tokens = tokensBeyondCaps(snapshot.tokens, () => undefined);
    return { file: sealer.finish(), header: snapshot.header, tokensBeyondCaps: tokens };
  } finally {
    snapshot.masterKey?.fill(0);
  }
}

/** A one-line summary of a backup's header (counts, audit head), for audit details and output. */
export function describeBackup(h: BackupHeader): string {
  const c = h.counts;
  const head = h.auditHead === null ? 'an empty audit log' : `audit head ${h.auditHead.seq}`;
  return `${c.secrets} secrets, ${c.versions} versions, ${c.tokens} tokens, ${c.keks} keys, ${c.audit} audit records (${head})${h.masterKeyIncluded ? ', master key included' : ''}`;
}

/** Records a backup in the vault's audit log (`where` names the file, never its content). */
export async function recordBackup(
  vault: Vault,
  header: BackupHeader,
  where: string,
): Promise<void> {
  await vault.auditedTransaction('vault.backup', async () => ({
    result: undefined,
    detail: `${describeBackup(header)} to ${where}`,
  }));
}

/** Copies a snapshot's rows, exactly as they are, into a store (inside `tx`). */
async function copyRows(tx: StorageTx, s: Snapshot): Promise<void> {
  for (const m of s.meta) await tx.setMeta(m.key, m.value);
  for (const k of s.keks) await tx.insertKek(k);
  for (let i = 0; i < s.secrets.length; i += COPY_BATCH) {
    await tx.insertSecrets(s.secrets.slice(i, i + COPY_BATCH));
  }
  for (let i = 0; i < s.versions.length; i += COPY_BATCH) {
    await tx.insertVersions(s.versions.slice(i, i + COPY_BATCH));
  }
  for (const t of s.tokens) await tx.insertToken(t);
  for (let i = 0; i < s.audit.length; i += COPY_BATCH) {
    await tx.appendAuditBatch(s.audit.slice(i, i + COPY_BATCH));
  }
}

/** A unique or foreign key refused a row: SQLite's SQLITE_CONSTRAINT_*, PostgreSQL's 23xxx. */
function isConstraintViolation(err: unknown): boolean {
  // The driver's own error inside a transaction, or a CofferError wrapping it as its cause.
  for (const e of [err, (err as { cause?: unknown } | undefined)?.cause]) {
    const code = (e as { code?: unknown } | undefined)?.code;
    if (
      typeof code === 'string' &&
      (code.startsWith('SQLITE_CONSTRAINT') || /^23\d{3}$/.test(code))
    )
      return true;
  }
  return false;
}

/** A token whose path globs a new token could not have (`globsBeyondCaps`). */
export interface TokenBeyondCaps {
  id: string;
  /** As stored, cut to 64 characters (a crafted backup's name can be anything). */
  name: string;
  /** Which cap its globs pass, e.g. `70 path globs: a policy holds at most 64`. */
  reason: string;
  /** When it was revoked: already in the backup, or by the restore; null when live. */
  revokedAt: string | null;
  /** It was revoked before the backup was taken (a restore keeps that time). */
  revokedBefore: boolean;
}

/**
 * The tokens whose path globs are beyond the caps of parseGlobs (at most MAX_GLOBS globs,
 * each at most MAX_GLOB_LENGTH characters, with at most three segments besides `**` of at
 * most MAX_SEGMENT characters each). An earlier coffer made such tokens, so they are no
 * failure; they are named, and a restore revokes them. Bounded work per token, whatever its
 * globs hold (`globsBeyondCaps` reads at most MAX_GLOBS x MAX_GLOB_LENGTH characters and
 * compiles nothing past the caps). `malformed` answers a glob no coffer ever stored (it
 * throws, or returns the reason to report).
 */
function tokensBeyondCaps(
  tokens: readonly TokenRecord[],
  malformed: (t: TokenRecord, err: CofferError) => string | undefined,
): TokenBeyondCaps[] {
  const out: TokenBeyondCaps[] = [];
  for (const t of tokens) {
    let reason: string | undefined;
    try {
      reason = globsBeyondCaps(t.allow);
    } catch (err) {
      if (!(err instanceof CofferError)) throw err;
      reason = malformed(t, err);
    }
    if (reason === undefined) continue;
    out.push({
      id: t.id,
      name: t.name.slice(0, 64),
      reason,
      revokedAt: t.revokedAt,
      revokedBefore: t.revokedAt !== null,
    });
  }
  return out;
}

/**
 * The snapshot's tokens beyond the caps (`tokensBeyondCaps`); refuses a snapshot holding a
 * glob no coffer ever stored (malformed, or one that can never match a key path: every
 * version has refused those when a token was made), before any row is written.
 */
function checkTokens(s: Snapshot): TokenBeyondCaps[] {
  return tokensBeyondCaps(s.tokens, (t, err) => {
    throw new CofferError(
      'BACKUP_INVALID',
      `the backup holds the token ${JSON.stringify(t.name.slice(0, 64))} with a path glob coffer refuses: ${err.message}`,
      {
        hint: 'No version of coffer makes such a glob: this backup was not written from a store coffer made, so nothing was restored. Use another backup.',
        cause: err,
      },
    );
  });
}

/**
 * copyRows, where rows that a store's keys refuse (two secrets of one key path, a version
 * twice) make the backup invalid: they were never written by coffer. A token with a malformed
 * glob is refused first (checkTokens), before any row is written; the answer is the tokens
 * whose globs are beyond the caps.
 */
async function loadRows(tx: StorageTx, s: Snapshot): Promise<TokenBeyondCaps[]> {
  const beyond = checkTokens(s);
  try {
    await copyRows(tx, s);
    return beyond;
  } catch (err) {
    if (!isConstraintViolation(err)) throw err;
    throw new CofferError(
      'BACKUP_INVALID',
      'the backup holds rows that conflict with each other (a duplicate secret, version, key or token)',
      { cause: err },
    );
  }
}

/** What is in a store that should be empty, or undefined when it is empty. */
async function contentOf(tx: StorageTx): Promise<string | undefined> {
  if ((await tx.getMeta(META_FORMAT)) !== undefined) return 'an initialised vault';
  if ((await tx.listMeta()).length > 0) return 'vault settings';
  if ((await tx.listKeks()).length > 0) return 'keys';
  if ((await tx.listSecrets({ includeDeleted: true })).length > 0) return 'secrets';
  if ((await tx.listTokens()).length > 0) return 'tokens';
  if ((await tx.lastAudit()) !== undefined) return 'audit records';
  return undefined;
}

export interface BackupCheck {
  ok: boolean;
  header: BackupHeader;
  /** Secret versions opened. */
  checked: number;
  /** Versions, keys and rows that failed, as short labels (never values). */
  failures: string[];
  audit: { ok: boolean; records: number; problem: string | undefined };
  /**
   * Warnings, not failures: tokens whose path globs are beyond the caps new tokens have (an
   * earlier coffer made them). A restore brings them back revoked.
   */
  tokensBeyondCaps: TokenBeyondCaps[];
}

function failuresOf(report: VerifyReport): string[] {
  return [
    ...report.failures.map(
      (f) => `${f.path} (${f.env}) version ${f.version}: ${f.code ?? 'failed'}`,
    ),
    ...report.keyFailures.map((k) => `key ${k}`),
    ...(report.rowFailures ?? []).map((r) => `row ${r}`),
  ];
}

/**
 * Runs the vault's own checks on a store holding a snapshot's rows: the master key, the
 * audit chain and its head, then every row MAC, key and secret version (`Vault.verify`,
 * which appends its `verify` record: only to an intact chain). Throws WRONG_KEY when the
 * master key is not the vault's.
 */
async function checkStore(
  storage: Storage,
  snapshot: Snapshot,
  masterKey: Uint8Array,
  actor: string,
  beyond: TokenBeyondCaps[],
): Promise<BackupCheck> {
  const vault = new Vault(storage, masterKey, { actor });
  try {
    const audit = await verifyAudit(vault);
    const report: VerifyReport = audit.ok
      ? await vault.verify()
      : { ok: true, checked: 0, failures: [], keyFailures: [] };
    const failures = failuresOf(report);
    return {
      ok: audit.ok && report.ok && failures.length === 0,
      header: snapshot.header,
      checked: report.checked,
      failures,
      audit: {
        ok: audit.ok,
        records: audit.records,
        problem:
          audit.problem === undefined
            ? undefined
            : `record ${audit.problem.seq}: ${audit.problem.reason}`,
      },
      tokensBeyondCaps: beyond,
    };
  } finally {
    vault.close();
  }
}

/**
 * Checks a decoded snapshot with `masterKey` by loading it into `scratch` (an empty store
 * that is thrown away, e.g. in memory) and running the vault's checks there. Throws
 * WRONG_KEY when the master key is not this vault's.
 */
export async function checkSnapshot(
  snapshot: Snapshot,
  masterKey: Uint8Array,
  scratch: Storage,
): Promise<BackupCheck> {
  const beyond = await scratch.transaction('write', (tx) => loadRows(tx, snapshot));
  return checkStore(scratch, snapshot, masterKey, 'coffer:backup-check', beyond);
}

/**
 * A Storage whose every transaction is `tx`, an open write transaction of `storage`: the
 * vault's operations then run inside it, and commit or roll back with it.
 */
function within(storage: Storage, tx: StorageTx): Storage {
  return {
    kind: storage.kind,
    location: storage.location,
    transaction: (_mode, fn) => fn(tx),
    close: async () => undefined,
  };
}

/** Throws INTEGRITY_FAILURE unless the check passed, naming what failed (a few labels). */
export function assertCheckPassed(check: BackupCheck): void {
  if (check.ok) return;
  const what = check.audit.ok
    ? `${check.failures.length} item(s) failed: ${check.failures.slice(0, 5).join('; ')}`
    : `its audit chain does not verify (${check.audit.problem})`;
  throw new CofferError('INTEGRITY_FAILURE', `the backup does not verify: ${what}`, {
    hint: 'Use another backup; `coffer backup verify FILE` shows the whole report.',
  });
}

/**
 * Revokes a restored token whose path globs are beyond the caps, unless it is revoked already,
 * as `coffer token revoke` does: through the vault's authenticated transaction (the row read
 * and its MAC checked, then written back with a MAC over its new content) and audited as
 * `token_revoke`, with why in the detail. Its globs are not compiled or matched here.
 */
async function revokeBeyondCaps(
  vault: Vault,
  t: TokenBeyondCaps,
  at: string,
): Promise<TokenBeyondCaps> {
  if (t.revokedBefore) return t;
  await vault.auditedTransaction('token_revoke', async (tx) => {
    if (!(await tx.revokeToken(t.id, at))) {
      throw new CofferError(
        'BACKUP_INVALID',
        `the restored token ${JSON.stringify(t.name)} is gone`,
      );
    }
    return {
      result: undefined,
      detail: `${t.name}: restored revoked, its path globs are beyond what a token may hold (${t.reason})`,
    };
  });
  return { ...t, revokedAt: at };
}

export interface RestoreOptions {
  actor: string;
  /** Where the restore went, for the audit record (file or database location). */
  target: string;
  now?: (() => Date) | undefined;
}

export interface RestoreResult {
  header: BackupHeader;
  check: BackupCheck;
  /** Audit records in the restored chain, the restore's own included. */
  auditRecords: number;
  /**
   * The tokens whose path globs are beyond the caps, all revoked now: by this restore (at
   * its time, `revokedBefore` false), or already in the backup.
   */
  tokensRevoked: TokenBeyondCaps[];
}

/**
 * Restores a snapshot into `target`, which must be empty, in one write transaction: the
 * rows are copied (refused with ALREADY_EXISTS when the target holds anything), checked
 * where they now are (every value opened, every row MAC, the audit chain once, as
 * `backup verify` does), and the restore recorded in the restored audit chain. A token whose
 * path globs are beyond the caps is then revoked (`revokeBeyondCaps`). Anything that fails
 * rolls the whole transaction back: the target stays empty.
 */
export async function restoreSnapshot(
  snapshot: Snapshot,
  masterKey: Uint8Array,
  target: Storage,
  options: RestoreOptions,
): Promise<RestoreResult> {
  const h = snapshot.header;
  return target.transaction('write', async (tx) => {
    const content = await contentOf(tx);
    if (content !== undefined) {
      throw new CofferError(
        'ALREADY_EXISTS',
        `the store at ${target.location} is not empty (it holds ${content}); a backup is restored into an empty store only`,
        {
          hint: 'Restore into a new vault file (--vault PATH) or an empty database schema (COFFER_DATABASE_URL with ?schema=NAME).',
        },
      );
    }
    const beyond = await loadRows(tx, snapshot);
    const inside = within(target, tx);
    const check = await checkStore(inside, snapshot, masterKey, options.actor, beyond);
    assertCheckPassed(check);
    const revoked: TokenBeyondCaps[] = [];
    const vault = new Vault(inside, masterKey, {
      actor: options.actor,
      ...(options.now ? { now: options.now } : {}),
    });
    try {
      await vault.auditedTransaction('vault.restore', async () => ({
        result: undefined,
        detail: `from a backup of ${h.source.kind} ${h.source.location} taken ${h.createdAt} into ${options.target}: ${describeBackup(h)}`,
      }));
      const at = (options.now ?? (() => new Date()))().toISOString();
      for (const t of beyond) revoked.push(await revokeBeyondCaps(vault, t, at));
    } finally {
      vault.close();
    }
    const last = await tx.lastAudit();
    return { header: h, check, auditRecords: last?.seq ?? 0, tokensRevoked: revoked };
  });
}
