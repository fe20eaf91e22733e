/** A storage transaction whose audit reads a test watches. */
import type { StorageTx } from '../../src/core/store/storage.js';

/**
 * `tx` with its `listAudit` replaced by `listAudit` (which calls the original itself), every
 * other member that of `tx`: methods are bound to the transaction itself, whose class keeps
 * private fields.
 */
export function withListAudit(tx: StorageTx, listAudit: StorageTx['listAudit']): StorageTx {
  return new Proxy(tx, {
    get(target, key) {
      if (key === 'listAudit') return listAudit;
      const v: unknown = Reflect.get(target, key, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}
