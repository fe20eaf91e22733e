/**
 * `verify`: the "store then read back" check. Decrypts and authenticates every version of
 * one secret, or of the whole vault together with every sealed key of the keyring and the
 * MAC of every keyring, secret and token row. It reads in a read transaction and audits its
 * outcome in a write transaction of its own; no value leaves it.
 */
import { CofferError } from '../errors.js';
import { parseEnvironment, parseKeyPath } from '../paths.js';
import type { AuditedStore } from './audited-store.js';
import type { SecretRecord, StorageTx, VersionRecord } from './storage.js';
import type { VerifyReport } from './vault-types.js';

/**
 * Decrypts every stored version of one secret, and checks that versions 1..current all
 * exist (coffer never removes one; a missing one was deleted outside it).
 */
async function verifyVersions(
  store: AuditedStore,
  tx: StorageTx,
  secret: Pick<SecretRecord, 'path' | 'env' | 'currentVersion'>,
  report: VerifyReport,
  stored?: readonly VersionRecord[],
): Promise<void> {
  const versions = stored ?? (await tx.listVersions(secret.path, secret.env));
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
      (await store.decrypt(tx, rec)).fill(0);
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

/** See Vault.verify. */
export async function verifySecrets(
  store: AuditedStore,
  path?: string,
  env?: string,
): Promise<VerifyReport> {
  const key = path === undefined ? undefined : parseKeyPath(path);
  const e = env === undefined ? undefined : parseEnvironment(env);
  const report: VerifyReport = { ok: true, checked: 0, failures: [], keyFailures: [] };
  const rowFailures: string[] = [];
  const target = { path: key?.path ?? null, env: e ?? null };
  try {
    await store.read(async (tx) => {
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
        for (const s of secrets) await verifyVersions(store, tx, s, report);
      } else {
        const rows = await tx.checkRows();
        for (const f of rows.failures) rowFailures.push(`${f.table} ${f.key}`);
        report.rowFailures = rowFailures;
        report.keyFailures = store.keyring.checkAll(rows.keks);
        // Every version in one query, grouped by secret (both lists are in path, env order).
        const all = await tx.listAllVersions();
        const bySecret = new Map<string, VersionRecord[]>();
        for (const v of all) {
          const k = `${v.path}\u0000${v.env}`;
          const list = bySecret.get(k);
          if (list === undefined) bySecret.set(k, [v]);
          else list.push(v);
        }
        for (const s of rows.secrets) {
          // A row that failed its MAC says nothing true about how many versions there
          // are (current_version 10^9 would list 10^9 missing ones): only the versions
          // stored are checked for it.
          const trusted = rows.failed.has(s) ? { ...s, currentVersion: 0 } : s;
          const stored = bySecret.get(`${s.path}\u0000${s.env}`) ?? [];
          await verifyVersions(store, tx, trusted, report, stored);
        }
      }
    });
  } catch (err) {
    await store.auditFailure('verify', target, err);
    throw err;
  }
  const failed = report.failures.length + report.keyFailures.length + rowFailures.length;
  report.ok = failed === 0;
  await store.storage.transaction('write', (tx) =>
    store.audit(tx, [
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
