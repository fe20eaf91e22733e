/**
 * A project's secrets in every environment side by side, for the web UI's project page:
 * metadata, rotation state, last read and missing environments from one audited `list`
 * transaction (plus the audit index of last reads), and which secrets hold the same value in
 * development and production (keyed digests, same-value.ts). Names and metadata only: no
 * value is in the result.
 */
import type { LastReads } from '../audit/last-reads.js';
import { readRotationDoc, slotKey } from '../rotation/state.js';
import { classifySecret, currentVersionTime, type RotationState } from '../rotation/status.js';
import type { Vault } from '../store/vault.js';
import type { SameValueCheck, VersionRef } from './same-value.js';

/** One secret in one environment. */
export interface OverviewCell {
  version: number;
  updatedAt: string;
  deletedAt: string | null;
  /** Rotation state of a live secret (null when deleted). */
  state: RotationState | null;
  /** The last successful read in the audit log, if any. */
  lastRead: string | null;
}

export interface OverviewRow {
  name: string;
  path: string;
  description: string;
  tier: number | null;
  rotation: string | null;
  /** By environment; an environment that is not here is missing. */
  cells: Record<string, OverviewCell>;
  /**
   * The same value in the two environments of `ProjectOverview.compared`: true or false
   * where both are live and the caller may read both; null otherwise.
   */
  sameValue: boolean | null;
}

export interface ProjectOverview {
  /** `project/P` or `meta/S`. */
  prefix: string;
  /** Environments in their usual order (dev, staging, prod), then by name. */
  envs: string[];
  rows: OverviewRow[];
  /** The development and production environments compared (null when one is absent). */
  compared: [string, string] | null;
}

export interface OverviewOptions {
  scope: string;
  group: string;
  /** Which secrets the caller may list (its globs and environments). */
  allows: (path: string, env: string) => boolean;
  /** Which values may be compared (the caller may read them). */
  mayCompare: (path: string, env: string) => boolean;
  lastReads: LastReads;
  sameValues: SameValueCheck;
  now?: Date | undefined;
}

const ENV_ORDER = ['dev', 'development', 'test', 'staging', 'prod', 'production'];

/** Environments in their usual order (dev, staging, prod), then the others by name. */
export function sortEnvironments(envs: Iterable<string>): string[] {
  const rank = (e: string) => {
    const i = ENV_ORDER.indexOf(e);
    return i < 0 ? ENV_ORDER.length : i;
  };
  return [...new Set(envs)].sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
}

/** The development and production environments among `envs`, when both are there. */
export function devAndProd(envs: readonly string[]): [string, string] | null {
  const dev = envs.find((e) => e === 'dev' || e === 'development');
  const prod = envs.find((e) => e === 'prod' || e === 'production');
  return dev !== undefined && prod !== undefined ? [dev, prod] : null;
}

/** The overview of `scope/group`, audited as one `list` record (and `compare` when read). */
export async function projectOverview(vault: Vault, o: OverviewOptions): Promise<ProjectOverview> {
  const prefix = `${o.scope}/${o.group}`;
  const now = o.now ?? new Date();
  const rows = new Map<string, OverviewRow>();
  const envSet = new Set<string>();
  await vault.auditedTransaction(
    'list',
    async (tx, keyring) => {
      const listed = await tx.listSecrets({ scope: o.scope, group: o.group, includeDeleted: true });
      const rotation = (await readRotationDoc(tx, keyring)).secrets;
      let n = 0;
      for (const s of listed) {
        if (!o.allows(s.path, s.env)) continue;
        n++;
        envSet.add(s.env);
        let row = rows.get(s.path);
        if (row === undefined) {
          row = {
            name: s.path.slice(prefix.length + 1),
            path: s.path,
            description: s.description,
            tier: s.tier,
            rotation: s.rotation,
            cells: {},
            sameValue: null,
          };
          rows.set(s.path, row);
        }
        let state: RotationState | null = null;
        if (s.deletedAt === null) {
          // Version 1 was stored with the row; a later one has its own time (bounded by the
          // row's authenticated times: currentVersionTime).
          let current = { createdAt: s.createdAt, actor: '' };
          if (s.currentVersion > 1 && s.rotation !== null) {
            current = currentVersionTime(s, await tx.getVersion(s.path, s.env, s.currentVersion));
          }
          const slot = rotation[slotKey(s.path, s.env)];
          // No policy and no rotation state: nothing can be due (classifySecret's answer too).
          state =
            s.rotation === null && slot === undefined
              ? 'no-policy'
              : classifySecret(s, current, slot, now).state;
        }
        row.cells[s.env] = {
          version: s.currentVersion,
          updatedAt: s.updatedAt,
          deletedAt: s.deletedAt,
          state,
          lastRead: null,
        };
      }
      return { result: undefined, detail: `${n} items` };
    },
    { path: prefix },
  );
  await o.lastReads.refresh(vault);
  const envs = sortEnvironments(envSet);
  const compared = devAndProd(envs);
  const pairs: { path: string; a: VersionRef; b: VersionRef }[] = [];
  for (const row of rows.values()) {
    for (const [env, cell] of Object.entries(row.cells)) {
      cell.lastRead = o.lastReads.get(row.path, env) ?? null;
    }
    if (compared === null) continue;
    const [dev, prod] = compared;
    const a = row.cells[dev];
    const b = row.cells[prod];
    if (a === undefined || b === undefined || a.deletedAt !== null || b.deletedAt !== null) {
      continue;
    }
    if (!o.mayCompare(row.path, dev) || !o.mayCompare(row.path, prod)) continue;
    row.sameValue = false;
    pairs.push({
      path: row.path,
      a: { path: row.path, env: dev, version: a.version },
      b: { path: row.path, env: prod, version: b.version },
    });
  }
  if (pairs.length > 0) {
    const same = await o.sameValues.same(vault, prefix, pairs);
    for (const p of same) rows.get(p)!.sameValue = true;
  }
  const list = [...rows.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { prefix, envs, rows: list, compared };
}
