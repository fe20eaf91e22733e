/**
 * `coffer manifest check`, the CI gate: is every required variable of the manifest in the
 * vault for an environment, and which of the project's secrets does the manifest not know?
 * Works from metadata only (no value is read); names only in the result.
 */
import { CofferError } from '../errors.js';
import type { SecretInfo } from '../store/vault.js';
import type { Manifest } from './model.js';
import { sourceFor } from './model.js';
import { ownedBy } from './setup-plan.js';

export interface ManifestCheck {
  project: string;
  env: string;
  /** Required variables with no live secret in the vault (plain settings excluded). */
  missing: { name: string; path: string }[];
  /** Optional variables with no secret in the vault. */
  optionalMissing: { name: string; path: string }[];
  /** Variables whose secret is in the vault. */
  present: string[];
  /** Plain settings carried by the manifest itself (not stored). */
  plain: string[];
  /** Live secrets of the project in this environment that no variable names. */
  unmanaged: string[];
  ok: boolean;
}

/**
 * What `checkManifest` is given: the project's secrets in `env`, plus the shared `meta/`
 * secrets the manifest names (looked up one by one; `mayRead` leaves out those a caller's
 * policy does not allow, so that asking is not a refusal). Metadata only.
 */
export async function manifestSecrets(
  manifest: Manifest,
  env: string,
  reader: {
    list(o: { prefix: string; env: string }): Promise<SecretInfo[]>;
    info(path: string, env: string): Promise<SecretInfo>;
  },
  mayRead: (path: string) => boolean = () => true,
): Promise<SecretInfo[]> {
  const out = await reader.list({ prefix: `project/${manifest.project}`, env });
  for (const v of manifest.variables) {
    if (ownedBy(manifest, v) || !mayRead(v.path)) continue;
    try {
      out.push(await reader.info(v.path, env));
    } catch (err) {
      if (!(err instanceof CofferError && err.code === 'SECRET_NOT_FOUND')) throw err;
    }
  }
  return out;
}

/**
 * `secrets`: the project's live secrets in `env` and the shared ones it names (metadata, as
 * `manifestSecrets` gives them).
 */
export function checkManifest(
  manifest: Manifest,
  env: string,
  secrets: readonly Pick<SecretInfo, 'path' | 'env' | 'deletedAt'>[],
): ManifestCheck {
  const live = new Set(
    secrets.filter((s) => s.env === env && s.deletedAt === null).map((s) => s.path),
  );
  const out: ManifestCheck = {
    project: manifest.project,
    env,
    missing: [],
    optionalMissing: [],
    present: [],
    plain: [],
    unmanaged: [],
    ok: true,
  };
  const known = new Set<string>();
  for (const v of manifest.variables) {
    known.add(v.path);
    if (!v.sensitive && sourceFor(v, env).kind === 'value') {
      out.plain.push(v.name);
    } else if (live.has(v.path)) {
      out.present.push(v.name);
    } else if (v.required) {
      out.missing.push({ name: v.name, path: v.path });
    } else {
      out.optionalMissing.push({ name: v.name, path: v.path });
    }
  }
  const prefix = `project/${manifest.project}/`;
  out.unmanaged = [...live].filter((p) => p.startsWith(prefix) && !known.has(p)).sort();
  out.ok = out.missing.length === 0;
  return out;
}
