/**
 * `/v1/audit` and `/v1/audit/verify` (admin tokens only): the audit log in seq order, paged
 * with `afterSeq`, and the check of its hash chain.
 */
import { verifyAudit } from '../../core/audit/log.js';
import { addRoute, type Routes } from '../route.js';
import { AuditList, AuditQuery, AuditVerify, NoQuery } from '../schemas.js';

export function auditRoutes(routes: Routes): void {
  addRoute(
    routes,
    {
      method: 'get',
      path: '/v1/audit',
      summary: 'Audit records after `afterSeq` (default 0), oldest first, at most `limit` (100)',
      action: 'audit',
      capability: 'admin',
      query: AuditQuery,
      response: AuditList,
    },
    async ({ query, vault }) => {
      const items = await vault.readTransaction((tx) =>
        tx.listAudit({
          afterSeq: query.afterSeq ?? 0,
          limit: query.limit ?? 100,
          ...(query.path !== undefined ? { path: query.path } : {}),
        }),
      );
      return { items };
    },
  );

  addRoute(
    routes,
    {
      method: 'get',
      path: '/v1/audit/verify',
      summary: 'Check the hash chain of the whole audit log',
      action: 'audit_verify',
      capability: 'admin',
      query: NoQuery,
      response: AuditVerify,
    },
    async ({ vault }) => {
      const r = await verifyAudit(vault);
      return {
        ok: r.ok,
        checked: r.records,
        ...(r.problem !== undefined ? { firstBroken: r.problem } : {}),
      };
    },
  );
}
