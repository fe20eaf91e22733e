/**
 * What `coffer sync` changes at a deploy target: variables to add, to change and (with
 * `--prune`) to remove, from the project's exportable variables (export/select.ts) and what the
 * target holds. Where the target returns its values (Heroku, Render, Railway), a value is
 * compared by a keyed hash (HMAC-SHA256 under a random key made for this comparison and then
 * dropped), so equal values are left alone and no value is ever printed or kept; where it
 * does not (GitHub, Fly: write-only secrets), every variable it holds is changed.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  type AuditTrust,
  readVouchedAudit,
  refuseUnvouched,
  type VouchSource,
} from '../audit/vouched.js';
import type { ExportVariable } from '../export/formats.js';
import { parseDetail } from '../rotation/places.js';
import type { Vault } from '../store/vault.js';

export interface SyncPlan {
  add: string[];
  change: string[];
  unchanged: string[];
  /**
   * Held by the target, not by the project. With --prune, those coffer synced there before
   * (`stale`: the project no longer has them) are removed; the others were never coffer's and
   * are only listed.
   */
  extra: string[];
  /** The extras coffer synced to this target before: what --prune removes. */
  stale: string[];
}

/**
 * `remote` maps each name the target holds to its value, or to undefined when the target
 * does not say (write-only secrets).
 */
export function planSync(
  local: readonly ExportVariable[],
  remote: ReadonlyMap<string, string | undefined>,
  synced: ReadonlySet<string> = new Set(),
): SyncPlan {
  const key = randomBytes(32);
  const digest = (v: string) => createHmac('sha256', key).update(v, 'utf8').digest();
  const plan: SyncPlan = { add: [], change: [], unchanged: [], extra: [], stale: [] };
  const names = new Set<string>();
  for (const v of local) {
    names.add(v.name);
    if (!remote.has(v.name)) plan.add.push(v.name);
    else {
      const theirs = remote.get(v.name);
      if (theirs !== undefined && timingSafeEqual(digest(theirs), digest(v.value))) {
        plan.unchanged.push(v.name);
      } else plan.change.push(v.name);
    }
  }
  for (const name of remote.keys()) {
    if (names.has(name)) continue;
    plan.extra.push(name);
    if (synced.has(name)) plan.stale.push(name);
  }
  key.fill(0);
  for (const list of Object.values(plan)) list.sort();
  return plan;
}

/** The extras coffer never synced there: the target's own, which --prune keeps. */
export function foreignExtras(plan: SyncPlan): string[] {
  return plan.extra.filter((n) => !plan.stale.includes(n));
}

/** The detail of a `sync` audit record of one variable: what syncedNames reads back. */
export function syncRecordDetail(target: string, name: string): string {
  return JSON.stringify({ target, name });
}

/**
 * The variable names coffer has synced to `target` (its label, as the `sync` audit records
 * name it, or several labels of one target) from `project` in `env`: what `--prune` may
 * remove there. Another project's syncs to a target of the same label (a shared app or
 * repository) do not count. Read from the `sync` records the vault vouches for
 * (audit/vouched.ts: one walk of the whole log, a forged or edited record never counts);
 * `trust` says whether the log verified and which records were not used. With `prune` (the
 * names are to be removed), a log that does not verify is refused: AUDIT_CHAIN_BROKEN,
 * audited as a denied `sync` of the project.
 */
export async function syncedNames(
  vault: VouchSource & Pick<Vault, 'recordDenied'>,
  target: string | readonly string[],
  project: string,
  env: string,
  options: { prune?: boolean | undefined } = {},
): Promise<{ names: Set<string>; trust: AuditTrust }> {
  const prefix = `project/${project}/`;
  const labels = new Set(typeof target === 'string' ? [target] : target);
  const { picked, trust } = await readVouchedAudit(
    vault,
    (r) => {
      if (r.action !== 'sync' || r.outcome !== 'ok') return undefined;
      if (r.path === null || !r.path.startsWith(prefix) || r.env !== env) return undefined;
      // The summary record of a sync is plain text, not one variable's.
      const d = parseDetail(r.detail);
      return typeof d?.target === 'string' && labels.has(d.target) && typeof d.name === 'string'
        ? d.name
        : undefined;
    },
    { about: ` of syncs to ${[...labels].join(', ')}` },
  );
  if (options.prune === true) {
    await refuseUnvouched(vault, 'sync', { path: `project/${project}`, env }, trust);
  }
  return { names: new Set(picked), trust };
}
