/**
 * What `coffer sync` changes at a deploy target: variables to add, to change and (with
 * `--prune`) to remove, from the project's exportable variables (export/select.ts) and what the
 * target holds. Where the target returns its values (Heroku, Render, Railway), a value is
 * compared by a keyed hash (HMAC-SHA256 under a random key made for this comparison and then
 * dropped), so equal values are left alone and no value is ever printed or kept; where it
 * does not (GitHub, Fly: write-only secrets), every variable it holds is changed.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ExportVariable } from '../export/formats.js';
import { parseDetail } from '../rotation/places.js';
import type { StorageTx } from '../store/storage.js';

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

/** Audit records read per page while looking for past syncs. */
const PAGE = 1000;

/**
 * The variable names coffer has synced to `target` (its label, as the `sync` audit records
 * name it, or several labels of one target) from `project` in `env`: what `--prune` may remove there. Another project's syncs
 * to a target of the same label (a shared app or repository) do not count. Read from the
 * audit log's `sync` records, oldest first.
 */
export async function syncedNames(
  vault: { readTransaction<T>(fn: (tx: StorageTx) => Promise<T>): Promise<T> },
  target: string | readonly string[],
  project: string,
  env: string,
): Promise<Set<string>> {
  const prefix = `project/${project}/`;
  const labels = new Set(typeof target === 'string' ? [target] : target);
  const names = new Set<string>();
  let after = 0;
  for (;;) {
    const rows = await vault.readTransaction((tx) =>
      tx.listAudit({ afterSeq: after, limit: PAGE, action: 'sync' }),
    );
    for (const r of rows) {
      if (r.outcome !== 'ok') continue;
      if (r.path === null || !r.path.startsWith(prefix) || r.env !== env) continue;
      // The summary record of a sync is plain text, not one variable's.
      const d = parseDetail(r.detail);
      if (typeof d?.target === 'string' && labels.has(d.target) && typeof d.name === 'string')
        names.add(d.name);
    }
    if (rows.length < PAGE) return names;
    after = rows[rows.length - 1]!.seq;
  }
}
