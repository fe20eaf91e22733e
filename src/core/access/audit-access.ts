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
import type { AuditQuery, AuditRecord, ShownAuditRecord } from '../store/storage.js';
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

/**
 * Up to `limit` records after `afterSeq` (oldest first) that `policy` may read. Filtering
 * happens after the read, so this pages on until it has `limit` records or the log ends: a
 * narrow policy over a long log reads more of it, which is the price of never returning a
 * short page that a client would take for the end. The chain's hashes are left out unless the
 * policy may check the whole chain (`mayReadChain`).
 */
export async function readAuditWithin(
  vault: Vault,
  policy: AccessPolicy,
  query: { afterSeq: number; limit: number; path?: string | undefined },
): Promise<ShownAuditRecord[]> {
  const page = Math.max(query.limit, PAGE);
  const whole = mayReadChain(policy);
  return vault.readTransaction(async (tx) => {
    const out: ShownAuditRecord[] = [];
    let after = query.afterSeq;
    for (;;) {
      const q: AuditQuery = { afterSeq: after, limit: page };
      if (query.path !== undefined) q.path = query.path;
      const rows = await tx.listAudit(q);
      for (const r of rows) {
        if (!auditRecordVisible(policy, r)) continue;
        out.push(whole ? r : withoutHashes(r));
        if (out.length === query.limit) return out;
      }
      if (rows.length < page) return out;
      after = rows[rows.length - 1]!.seq;
    }
  });
}

/** Whether `policy` may read the whole log, and so check its chain: then it gets the hashes. */
export function mayReadChain(policy: AccessPolicy): boolean {
  return policy.refusal('admin', { everything: true }) === undefined;
}

function withoutHashes(r: AuditRecord): ShownAuditRecord {
  const { prevHash: _p, hash: _h, ...rest } = r;
  return rest;
}
