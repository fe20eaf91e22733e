/**
 * An access policy around any SecretsService: `withPolicy(inner, policy, deny)`. Each call is
 * first decided by core/access (`authorize`: a refusal is audited through `deny` and thrown as
 * FORBIDDEN), and what it returns is bounded by the policy: a listing shows only the key paths
 * and environments the policy allows, a project read opens only those, a value stored may
 * refer only to what the policy may read. The audit log needs `admin` and a policy
 * unrestricted in paths and environments.
 *
 * The same rules hold whatever `inner` is: the local vault (`vault.as(actor, policy)`, the
 * HTTP routes' token policies) or a `coffer serve` server in remote mode, where the MCP
 * server's own `--allow` and `--env` bound what the token would allow.
 */
import { type AccessPolicy, authorize, type Denier, type Target } from '../access/policy.js';
import { authorizeValueReferences } from '../access/value-references.js';
import { CofferError } from '../errors.js';
import { parseEnvironment, parseKeyPath, parsePathPrefix } from '../paths.js';
import type { TokenCapability } from '../store/storage.js';
import type { ReadOutcome, ReadRequest } from '../store/vault-types.js';
import type { PathFilter, SecretsService } from './secrets-service.js';

/** `inner` bounded by `policy`; refusals go to `deny` (default: `inner.denied`). */
export function withPolicy(
  inner: SecretsService,
  policy: AccessPolicy,
  deny: Denier = (action, target, reason) => inner.denied(action, target, reason),
): SecretsService {
  const check = (cap: TokenCapability, action: string, target: Target) =>
    authorize(policy, cap, action, target, deny);
  /** The canonical key path and environment, authorized for `cap`. */
  const key = async (cap: TokenCapability, action: string, path: string, env: string) => {
    const target = { path: parseKeyPath(path).path, env: parseEnvironment(env) };
    await check(cap, action, target);
    return target;
  };
  const within: PathFilter = (path, env) => policy.allowsPath(path) && policy.allowsEnv(env);
  const both =
    (more: PathFilter | undefined): PathFilter =>
    (path, env) =>
      within(path, env) && (more === undefined || more(path, env));
  /** A project read's group and environment, authorized for reading. */
  const project = async (name: string, env: string) => {
    const group = parsePathPrefix(`project/${name}`).group!;
    const e = parseEnvironment(env);
    await check('read', 'read_project', { path: `project/${group}`, env: e, prefix: true });
    return { group, e };
  };
  const service: SecretsService = {
    remote: inner.remote,
    async get(path, env, o) {
      const t = await key('read', 'get', path, env);
      return inner.get(t.path, t.env, o);
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
      const read = allowed.length > 0 ? await inner.getMany(allowed) : [];
      let next = 0;
      return outcomes.map((o) => o ?? read[next++]!);
    },
    async set(path, env, value, o) {
      const t = await key('write', 'set', path, env);
      await authorizeValueReferences(policy, 'set', t, value, deny);
      return inner.set(t.path, t.env, value, o);
    },
    async list(o = {}) {
      const env = o.env === undefined ? undefined : parseEnvironment(o.env);
      const prefix = o.prefix === undefined ? undefined : parsePathPrefix(o.prefix);
      await check('list', 'list', env === undefined ? {} : { env });
      if (prefix?.group !== undefined) {
        await check('list', 'list', { path: `${prefix.scope}/${prefix.group}`, env, prefix: true });
      }
      const items = await inner.list({ ...o, within: both(o.within) });
      return items.filter((s) => within(s.path, s.env));
    },
    async info(path, env) {
      const t = await key('list', 'describe', path, env);
      return inner.info(t.path, t.env);
    },
    async history(path, env) {
      const t = await key('list', 'history', path, env);
      return inner.history(t.path, t.env);
    },
    async readProject(name, env, purpose, more) {
      const { group, e } = await project(name, env);
      return inner.readProject(group, e, purpose, both(more));
    },
    async verify(path, env) {
      if (path === undefined) {
        await check('read', 'verify', { everything: true });
        return inner.verify(undefined, env);
      }
      const p = parseKeyPath(path).path;
      const e = env === undefined ? undefined : parseEnvironment(env);
      await check('read', 'verify', e === undefined ? { path: p } : { path: p, env: e });
      return inner.verify(p, e);
    },
    async audit(o = {}) {
      await check('admin', 'audit', { everything: true });
      return inner.audit(o);
    },
    async auditVerify() {
      await check('admin', 'audit_verify', { everything: true });
      return inner.auditVerify();
    },
    async rotationStatus(o = {}) {
      const env = o.env === undefined ? undefined : parseEnvironment(o.env);
      const group = o.prefix?.group;
      await check('list', 'rotation_status', {
        ...(group !== undefined ? { path: `${o.prefix!.scope}/${group}`, prefix: true } : {}),
        ...(env !== undefined ? { env } : {}),
      });
      return inner.rotationStatus({ ...o, allows: both(o.allows) });
    },
    denied: deny,
    close: () => inner.close(),
  };
  const { checkSet, graceValues, endedPreviousNames, reportLeak, recordFileWrite } = inner;
  if (checkSet !== undefined) {
    service.checkSet = async (path, env, o) => {
      const t = await key('write', 'set', path, env);
      return checkSet.call(inner, t.path, t.env, o);
    };
  }
  if (graceValues !== undefined) {
    service.graceValues = async (name, env, more) => {
      const { group, e } = await project(name, env);
      return graceValues.call(inner, group, e, both(more));
    };
  }
  if (endedPreviousNames !== undefined) {
    service.endedPreviousNames = async (name, env, more) => {
      const { group, e } = await project(name, env);
      return endedPreviousNames.call(inner, group, e, both(more));
    };
  }
  if (reportLeak !== undefined) {
    service.reportLeak = async (path, env, where) => {
      const t = await key('write', 'report_leak', path, env);
      return reportLeak.call(inner, t.path, t.env, where);
    };
  }
  if (recordFileWrite !== undefined) {
    // Only what this caller may read can have been written by it.
    service.recordFileWrite = (file, secrets, via) =>
      recordFileWrite.call(
        inner,
        file,
        secrets.filter((s) => within(s.path, s.env)),
        via,
      );
  }
  return service;
}
