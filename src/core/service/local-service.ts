/**
 * The local vault as a SecretsService (secrets-service.ts), bound to the vault's actor and,
 * optionally, an access policy: `vault.as(actor, policy)`.
 *
 * Without a policy every call goes straight to the vault (the CLI's own user). With one, the
 * service is wrapped in `withPolicy` (policy-service.ts): each call is decided by core/access
 * first, a refusal audited in this vault as `denied`.
 */
import type { AccessPolicy, Denier, Target } from '../access/policy.js';
import { readAudit, verifyAudit } from '../audit/log.js';
import { realFilePath } from '../files.js';
import { rotationStatus } from '../rotation/status.js';
import type { Vault } from '../store/vault.js';
import { withPolicy } from './policy-service.js';
import type { SecretsService } from './secrets-service.js';

export interface LocalServiceOptions {
  /** The access policy every call is decided by (none: the vault's own user, no limit). */
  policy?: AccessPolicy | undefined;
  /** Audits a refusal (default: `vault.recordDenied`). */
  deny?: Denier | undefined;
  /** What `close` does (default: nothing; the vault's owner closes it). */
  close?: (() => Promise<void>) | undefined;
}

const noClose = async (): Promise<void> => {};

/** `vault` (acting as its actor) as a SecretsService. */
export function localSecretsService(
  vault: Vault,
  options: LocalServiceOptions = {},
): SecretsService {
  const close = options.close ?? noClose;
  const denied = (action: string, target: Target, reason: string) =>
    vault.recordDenied(action, target, reason);
  const { policy } = options;
  if (policy === undefined) {
    return {
      remote: false,
      get: (path, env, o) => vault.get(path, env, o),
      getMany: (requests) => vault.getMany(requests),
      set: (path, env, value, o) => vault.set(path, env, value, o),
      checkSet: (path, env, o) => vault.checkSet(path, env, o),
      list: (o) => vault.list(o),
      info: (path, env) => vault.info(path, env),
      history: (path, env) => vault.history(path, env),
      readProject: (project, env, purpose, within) =>
        vault.readProject(project, env, purpose, within),
      graceValues: async (project, env, within) => {
        // Loaded on use: only a project with a rotation in its grace window needs it.
        const { graceValues } = await import('../rotation/grace.js');
        return graceValues(vault, project, env, vault.now(), within);
      },
      endedPreviousNames: async (project, env, within) => {
        const { endedPreviousNames } = await import('../rotation/grace.js');
        return endedPreviousNames(vault, project, env, vault.now(), within);
      },
      reportLeak: (path, env, where) => reportLeak(vault, path, env, where),
      recordFileWrite: async (file, secrets, via) => {
        const { recordFileWrite } = await import('../rotation/places.js');
        // The path with the links on the way resolved: what rotate --sync checks it against.
        return recordFileWrite(vault, realFilePath(file), secrets, via);
      },
      verify: (path, env) => vault.verify(path, env),
      audit: (o = {}) => readAudit(vault, auditOptions(o)),
      auditVerify: () => verifyAudit(vault),
      rotationStatus: (o) => rotationStatus(vault, o),
      denied,
      close,
    };
  }
  return withPolicy(localSecretsService(vault, { close }), policy, options.deny ?? denied);
}

async function reportLeak(
  vault: Vault,
  path: string,
  env: string,
  where: string,
): Promise<{ id: string; resumed: boolean }> {
  const { openIncident } = await import('../incident/incident.js');
  const r = await openIncident(vault, { path, env, where });
  return { id: r.incident.id, resumed: r.resumed };
}

function auditOptions(o: { limit?: number | undefined; path?: string | undefined }): {
  limit?: number;
  path?: string;
} {
  return {
    ...(o.limit !== undefined ? { limit: o.limit } : {}),
    ...(o.path !== undefined ? { path: o.path } : {}),
  };
}
