/**
 * Which audit records a policy may read. A record is visible when its path and its
 * environment are both within the policy:
 * - a key path: the policy's globs allow it; a `scope/group` prefix (a project read or
 *   listed): some key path under it could be allowed (as for the access itself);
 * - no path (authentication failures, token management, whole-vault operations): only a
 *   policy unrestricted in paths (globs `**`);
 * - an environment: the policy allows it; no environment (an operation across
 *   environments, or none): only a policy for every environment.
 * So an admin token for `project/app/*` in `dev` sees the records of those secrets in `dev`
 * and nothing else, not even who else holds tokens; the whole log, and checking its chain,
 * need a policy unrestricted in both.
 */
import { isValidSegment } from '../paths.js';
import type { AuditRecord, ShownAuditRecord } from '../store/storage.js';
import type { Vault } from '../store/vault.js';
import type { AccessPolicy } from './policy.js';

/** May a holder of `policy` read this record? */
export function auditRecordVisible(
  policy: AccessPolicy,
  record: Pick<AuditRecord, 'path' | 'env'>,
): boolean {
  if (record.env === null ? policy.envs.length > 0 : !policy.allowsEnv(record.env)) return false;
  if (record.path === null) return policy.scope.unrestricted;
  if (policy.scope.unrestricted) return true;
  const parts = record.path.split('/');
  if (parts.length === 3) return policy.allowsPath(record.path);
  const [scope, group] = parts;
  return (
    parts.length === 2 &&
    (scope === 'project' || scope === 'meta') &&
    isValidSegment(group!) &&
    policy.mayContain(scope, group!)
  );
}

/** Records read per storage page while filtering (at least the requested limit). */
const PAGE = 500;

/** Records one request may read at least before it answers with what it found so far. */
export const AUDIT_SCAN_MIN = 5_000;
/** ...and per record asked for, when that is more (a page of 1,000 may read 10,000). */
export const AUDIT_SCAN_PER_RECORD = 10;

/** The most records one request for `limit` records reads: max(10 x limit, 5,000). */
export function auditScanLimit(limit: number): number {
  return Math.max(AUDIT_SCAN_PER_RECORD * limit, AUDIT_SCAN_MIN);
}

/** What a reader narrows the records to, besides its policy (each one unset: no limit). */
export interface AuditFilter {
  /** Only the records of this path. */
  path?: string | undefined;
  /** Only the records whose actor contains this text. */
  actor?: string | undefined;
  /** Only the records of this action (`get`, `set`, ...). */
  action?: string | undefined;
  /** Only the records of this outcome (`ok`, `denied`, `failed`). */
  outcome?: string | undefined;
}

export interface AuditWithinQuery extends AuditFilter {
  /** Records after this seq (0: from the start). */
  afterSeq: number;
  /** At most this many records returned. */
  limit: number;
  /** At most this many records read (default `auditScanLimit(limit)`). */
  scanLimit?: number | undefined;
}

export interface AuditWithinPage {
  /** The records `policy` may read, oldest first. */
  records: ShownAuditRecord[];
  /**
   * Where to go on (the `afterSeq` of the next request), or null: the log ended within this
   * page. A short page, or an empty one, with a cursor is not the end of the log.
   */
  nextAfterSeq: number | null;
}

export interface AuditNewestQuery extends AuditFilter {
  /** Records below this seq (undefined: from the newest record of the log). */
  beforeSeq?: number | undefined;
  /** At most this many records returned. */
  limit: number;
  /** At most this many records read (default `auditScanLimit(limit)`). */
  scanLimit?: number | undefined;
}

export interface AuditNewestPage {
  /** The records `policy` may read, newest first. */
  records: ShownAuditRecord[];
  /**
   * Where to go on (the `beforeSeq` of the next request), or null: the start of the log was
   * reached within this page. A short page, or an empty one, with a cursor is not the start.
   */
  nextBeforeSeq: number | null;
}

/**
 * Up to `limit` records after `afterSeq` (oldest first) that `policy` may read, and where to
 * go on. Filtering (policy, path and the rest of `AuditFilter`) happens after the read, so a
 * narrow policy or a rare path over a long log would read much of it to fill a page: a
 * request reads at most `scanLimit` records, in pages of its own read transaction each (on
 * SQLite a transaction holds up every other request), and answers with what it found and the
 * seq it read up to. The path filter is applied here too, not by the storage: no index holds
 * audit paths, so a storage query for a rare path would read the whole log in one statement.
 * The chain's hashes are left out unless the policy may check the whole chain
 * (`mayReadChain`).
 */
export async function readAuditWithin(
  vault: Vault,
  policy: AccessPolicy,
  query: AuditWithinQuery,
): Promise<AuditWithinPage> {
  const { records, next } = await scanAudit(vault, policy, query, query.afterSeq, false);
  return { records, nextAfterSeq: next };
}

/**
 * `readAuditWithin` the other way: up to `limit` records below `beforeSeq` (or from the
 * newest), newest first, with the same bounds on what one call reads, and where to go on
 * towards the start of the log. For pages that show the latest records first (the web UI's
 * audit log and a secret's records).
 */
export async function readAuditNewestWithin(
  vault: Vault,
  policy: AccessPolicy,
  query: AuditNewestQuery,
): Promise<AuditNewestPage> {
  const { records, next } = await scanAudit(vault, policy, query, query.beforeSeq, true);
  return { records, nextBeforeSeq: next };
}

/** One scan of at most `scanLimit` records from `from`, in either direction. */
async function scanAudit(
  vault: Vault,
  policy: AccessPolicy,
  query: AuditFilter & { limit: number; scanLimit?: number | undefined },
  from: number | undefined,
  descending: boolean,
): Promise<{ records: ShownAuditRecord[]; next: number | null }> {
  const scanLimit = query.scanLimit ?? auditScanLimit(query.limit);
  for (const [name, n] of [
    ['limit', query.limit],
    ['scanLimit', scanLimit],
  ] as const) {
    if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`${name} must be an integer >= 1`);
  }
  const page = Math.max(query.limit, PAGE);
  const whole = mayReadChain(policy);
  const records: ShownAuditRecord[] = [];
  // Newest first, storage's `afterSeq` is the seq the records are below.
  let cursor = from;
  let scanned = 0;
  while (scanned < scanLimit) {
    const want = Math.min(page, scanLimit - scanned);
    const at = cursor;
    const rows = await vault.readTransaction((tx) =>
      tx.listAudit({ ...(at === undefined ? {} : { afterSeq: at }), limit: want, descending }),
    );
    for (const r of rows) {
      if (matches(query, r) && auditRecordVisible(policy, r)) {
        records.push(whole ? r : withoutHashes(r));
        if (records.length === query.limit) {
          return { records, next: descending && r.seq <= 1 ? null : r.seq };
        }
      }
    }
    if (rows.length < want) return { records, next: null };
    scanned += rows.length;
    cursor = rows[rows.length - 1]!.seq;
    // Nothing is below the first record (seq 1): that is the start of the log.
    if (descending && cursor <= 1) return { records, next: null };
  }
  return { records, next: cursor ?? null };
}

function matches(f: AuditFilter, r: AuditRecord): boolean {
  return (
    (f.path === undefined || r.path === f.path) &&
    (f.actor === undefined || r.actor.includes(f.actor)) &&
    (f.action === undefined || r.action === f.action) &&
    (f.outcome === undefined || r.outcome === f.outcome)
  );
}

/** Whether `policy` may read the whole log, and so check its chain: then it gets the hashes. */
export function mayReadChain(policy: AccessPolicy): boolean {
  return policy.refusal('admin', { everything: true }) === undefined;
}

function withoutHashes(r: AuditRecord): ShownAuditRecord {
  const { prevHash: _p, hash: _h, ...rest } = r;
  return rest;
}
