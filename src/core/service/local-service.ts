/**
 * The local vault as a SecretsService (secrets-service.ts), bound to the vault's actor and,
 * optionally, an access policy: `vault.as(actor, policy)`.
 *
 * Without a policy every call goes straight to the vault (the CLI's own user). With one,
 * each call is first decided by core/access (`authorize`: a refusal is audited as `denied`
 * and thrown as FORBIDDEN), and what it returns is bounded by the policy: a listing shows
 * only the key paths and environments the policy allows, a project read opens only those.
 * The audit log needs `admin` and a policy unrestricted in paths and environments.
 */
import { type AccessPolicy, authorize, type Denier, type Target } from '../access/policy.js';
import { authorizeValueReferences } from '../access/value-references.js';
import { readAudit, verifyAudit } from '../audit/log.js';
import { CofferError } from '../errors.js';
import { parseEnvironment, parseKeyPath, parsePathPrefix } from '../paths.js';
import { rotationStatus } from '../rotation/status.js';
import type { TokenCapability } from '../store/storage.js';
import type { Vault } from '../store/vault.js';
import type { ReadOutcome, ReadRequest } from '../store/vault-types.js';
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
      list: (o) => vault.list(o),
      info: (path, env) => vault.info(path, env),
      history: (path, env) => vault.history(path, env),
      readProject: (project, env, purpose) => vault.readProject(project, env, purpose),
      graceValues: async (project, env) => {
        // Loaded on use: only a project with a rotation in its grace window needs it.
        const { graceValues } = await import('../rotation/grace.js');
        return graceValues(vault, project, env);
      },
      reportLeak: (path, env, where) => reportLeak(vault, path, env, where),
      recordFileWrite: async (file, secrets, via) => {
        const { recordFileWrite } = await import('../rotation/places.js');
        return recordFileWrite(vault, file, secrets, via);
      },
      verify: (path, env) => vault.verify(path, env),
      audit: (o = {}) => readAudit(vault, auditOptions(o)),
      auditVerify: () => verifyAudit(vault),
      rotationStatus: (o) => rotationStatus(vault, o),
      denied,
      close,
    };
  }
  const deny = options.deny ?? denied;
  const check = (cap: TokenCapability, action: string, target: Target) =>
    authorize(policy, cap, action, target, deny);
  /** The canonical key path and environment, authorized for `cap`. */
  const key = async (cap: TokenCapability, action: string, path: string, env: string) => {
    const target = { path: parseKeyPath(path).path, env: parseEnvironment(env) };
    await check(cap, action, target);
    return target;
  };
  const within = (path: string, env: string) => policy.allowsPath(path) && policy.allowsEnv(env);
  return {
    remote: false,
    async get(path, env, o) {
      const t = await key('read', 'get', path, env);
      return vault.get(t.path, t.env, o);
    },
    async getMany(requests) {
      const outcomes: (ReadOutcome | undefined)[] = [];
      const allowed: ReadRequest[] = [];
      for (const r of requests) {
        try {
          const t = await key('read', 'get', r.path, r.env);
          allowed.push({ ...r, ...t });
          outcomes.push(undefined);
        } catch (error) {
          // A refusal or a malformed path fails this read alone.
          if (!(error instanceof CofferError)) throw error;
          outcomes.push({ ok: false, error });
        }
      }
      const read = allowed.length > 0 ? await vault.getMany(allowed) : [];
      let next = 0;
      return outcomes.map((o) => o ?? read[next++]!);
    },
    async set(path, env, value, o) {
      const t = await key('write', 'set', path, env);
      await authorizeValueReferences(policy, 'set', t, value, deny);
      return vault.set(t.path, t.env, value, o);
    },
    async list(o = {}) {
      const env = o.env === undefined ? undefined : parseEnvironment(o.env);
      const prefix = o.prefix === undefined ? undefined : parsePathPrefix(o.prefix);
      await check('list', 'list', env === undefined ? {} : { env });
      if (prefix?.group !== undefined) {
        await check('list', 'list', { path: `${prefix.scope}/${prefix.group}`, env, prefix: true });
      }
      const items = await vault.list(o);
      return items.filter((s) => within(s.path, s.env));
    },
    async info(path, env) {
      const t = await key('list', 'describe', path, env);
      return vault.info(t.path, t.env);
    },
    async history(path, env) {
      const t = await key('list', 'history', path, env);
      return vault.history(t.path, t.env);
    },
    async readProject(project, env, purpose) {
      const group = parsePathPrefix(`project/${project}`).group!;
      const e = parseEnvironment(env);
      await check('read', 'read_project', { path: `project/${group}`, env: e, prefix: true });
      return vault.readProject(group, e, purpose, within);
    },
    async graceValues(project, env) {
      const group = parsePathPrefix(`project/${project}`).group!;
      const e = parseEnvironment(env);
      await check('read', 'read_project', { path: `project/${group}`, env: e, prefix: true });
      const { graceValues } = await import('../rotation/grace.js');
      return graceValues(vault, group, e, new Date(), within);
    },
    async reportLeak(path, env, where) {
      const t = await key('write', 'report_leak', path, env);
      return reportLeak(vault, t.path, t.env, where);
    },
    async recordFileWrite(file, secrets, via) {
      // Only what this caller may read can have been written by it.
      const { recordFileWrite } = await import('../rotation/places.js');
      return recordFileWrite(
        vault,
        file,
        secrets.filter((s) => within(s.path, s.env)),
        via,
      );
    },
    async verify(path, env) {
      if (path === undefined) {
        await check('read', 'verify', { everything: true });
        return vault.verify(undefined, env);
      }
      const key = parseKeyPath(path).path;
      const e = env === undefined ? undefined : parseEnvironment(env);
      await check('read', 'verify', e === undefined ? { path: key } : { path: key, env: e });
      return vault.verify(key, e);
    },
    async audit(o = {}) {
      await check('admin', 'audit', { everything: true });
      return readAudit(vault, auditOptions(o));
    },
    async auditVerify() {
      await check('admin', 'audit_verify', { everything: true });
      return verifyAudit(vault);
    },
    async rotationStatus(o = {}) {
      const env = o.env === undefined ? undefined : parseEnvironment(o.env);
      const group = o.prefix?.group;
      await check('list', 'rotation_status', {
        ...(group !== undefined ? { path: `${o.prefix!.scope}/${group}`, prefix: true } : {}),
        ...(env !== undefined ? { env } : {}),
      });
      const allows = o.allows;
      return rotationStatus(vault, {
        ...o,
        allows: (path, e) => within(path, e) && (allows === undefined || allows(path, e)),
      });
    },
    denied: deny,
    close,
  };
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
