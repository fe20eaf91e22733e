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

export interface SyncPlan {
  add: string[];
  change: string[];
  unchanged: string[];
  /** Held by the target, not by the project: removed with --prune, else listed only. */
  extra: string[];
}

/**
 * `remote` maps each name the target holds to its value, or to undefined when the target
 * does not say (write-only secrets).
 */
export function planSync(
  local: readonly ExportVariable[],
  remote: ReadonlyMap<string, string | undefined>,
): SyncPlan {
  const key = randomBytes(32);
  const digest = (v: string) => createHmac('sha256', key).update(v, 'utf8').digest();
  const plan: SyncPlan = { add: [], change: [], unchanged: [], extra: [] };
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
  for (const name of remote.keys()) if (!names.has(name)) plan.extra.push(name);
  key.fill(0);
  for (const list of Object.values(plan)) list.sort();
  return plan;
}
