/**
 * Reading and verifying the audit log through an unlocked vault.
 */
import { CofferError } from '../errors.js';
import type { AuditRecord } from '../store/storage.js';
import { META_AUDIT_HEAD, type Vault } from '../store/vault.js';
import { AuditChainVerifier, type ChainProblem } from './chain.js';

export interface AuditReadOptions {
  limit?: number;
  path?: string;
}

/** The newest `limit` records (default 100), oldest first. */
export async function readAudit(
  vault: Vault,
  options: AuditReadOptions = {},
): Promise<AuditRecord[]> {
  const limit = options.limit ?? 100;
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new CofferError('INVALID_ARGUMENT', 'the limit must be a whole number >= 1');
  }
  const rows = await vault.readTransaction((tx) =>
    tx.listAudit({ limit, descending: true, ...(options.path ? { path: options.path } : {}) }),
  );
  return rows.reverse();
}

export interface AuditVerifyResult {
  ok: boolean;
  records: number;
  problem: ChainProblem | undefined;
}

/** Walks the whole chain in pages; reports the first broken record. */
export async function verifyAudit(vault: Vault, pageSize = 5000): Promise<AuditVerifyResult> {
  return vault.readTransaction(async (tx) => {
    const verifier = new AuditChainVerifier();
    let after = 0;
    for (;;) {
      const page = await tx.listAudit({ afterSeq: after, limit: pageSize });
      for (const r of page) if (!verifier.push(r)) break;
      if (page.length < pageSize || verifier.problem !== undefined) break;
      after = page[page.length - 1]!.seq;
    }
    const problem = verifier.finish(await tx.getMeta(META_AUDIT_HEAD));
    return { ok: problem === undefined, records: verifier.count, problem };
  });
}
