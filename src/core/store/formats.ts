/**
 * The vault formats (meta `format`): what each one adds, and the check that this coffer can
 * read a vault's. docs/format.md has the history.
 *
 * - `1`: before row MACs.
 * - `2`: every keyring, secret and token row carries a MAC bound to the vault id
 *   (row-migration.ts).
 * - `3`: the audit head is bound to the vault id too (audit/head.ts).
 */
import { CofferError } from '../errors.js';

/** The meta entry that holds a vault's format. */
export const META_FORMAT = 'format';
export const ROW_MAC_FORMAT = '2';
export const BOUND_HEAD_FORMAT = '3';
/** The format of a vault this coffer creates. */
export const VAULT_FORMAT: string = BOUND_HEAD_FORMAT;
export const READABLE_FORMATS: readonly string[] = ['1', ROW_MAC_FORMAT, BOUND_HEAD_FORMAT];

/** Throws UNSUPPORTED_FORMAT for a vault format this coffer does not read (a newer one). */
export function assertReadableFormat(format: string): void {
  if (READABLE_FORMATS.includes(format)) return;
  throw new CofferError(
    'UNSUPPORTED_FORMAT',
    `the vault has format ${JSON.stringify(format.slice(0, 20))}; this coffer reads ${READABLE_FORMATS.join(', ')}`,
    { hint: 'A newer coffer wrote it: upgrade coffer (every instance that shares the vault).' },
  );
}
