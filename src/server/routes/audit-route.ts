/**
 * `/v1/audit` and `/v1/audit/verify` (admin tokens only): the audit log in seq order, paged
 * with `afterSeq`, and the check of its hash chain. A token reads only the records within
 * its policy (core/access/audit-access.ts); one request reads a bounded part of the log, so
 * a page may be short, even empty, before the end: `nextAfterSeq` says where to go on (null
 * at the end). Checking the chain covers the whole log, so it needs a token unrestricted in
 * paths and environments.
 */
import { readAuditWithin } from '../../core/access/audit-access.js';
import type { AuditChainCheck } from '../../core/audit/chain-check.js';
import { addRoute, type Routes } from '../route.js';
import { AuditList, AuditQuery, AuditVerify, NoQuery } from '../schemas.js';

export function auditRoutes(routes: Routes, chain: AuditChainCheck): void {
  addRoute(
    routes,
    {
      method: 'get',
      path: '/v1/audit',
      summary:
        "Audit records within the caller's policy after `afterSeq` (default 0), oldest first, at most `limit` (100), and `nextAfterSeq` to go on from (null at the end of the log)",
      action: 'audit',
      capability: 'admin',
      query: AuditQuery,
      response: AuditList,
    },
    async ({ query, vault, policy }) => {
      const page = await readAuditWithin(vault, policy, {
        afterSeq: query.afterSeq ?? 0,
        limit: query.limit ?? 100,
        path: query.path,
      });
      return { items: page.records, nextAfterSeq: page.nextAfterSeq };
    },
  );

  addRoute(
    routes,
    {
      method: 'get',
      path: '/v1/audit/verify',
      summary:
        'Check the hash chain of the whole audit log (a token for every path and environment)',
      action: 'audit_verify',
      capability: 'admin',
      query: NoQuery,
      response: AuditVerify,
      target: () => ({ everything: true }),
    },
    async () => {
      // A walk of the whole log for each request (requests that come together share one):
      // only a token unrestricted in paths and environments may ask, the top of what the
      // server grants, and a check asked for must see the log as it is now, where a result
      // kept for an unchanged head would miss a record edited in place.
      const r = await chain.fresh();
      return {
        ok: r.ok,
        checked: r.records,
        ...(r.problem !== undefined ? { firstBroken: r.problem } : {}),
        ...(r.head !== undefined ? { head: r.head } : {}),
        acknowledged: r.acknowledged,
      };
    },
  );
}
