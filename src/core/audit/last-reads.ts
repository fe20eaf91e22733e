/**
 * When each secret was last read (a `get` with outcome `ok`: `coffer get`, the API, `run`,
 * `env pull`, a reveal in the web UI), by path and environment, from the audit log.
 *
 * The audit log has no index by path (a `run` appends one record per secret, so writes stay
 * cheap), so this index is kept in memory and brought up to date on each use with the
 * records appended since the last one (`listAudit` after a sequence number): the first use
 * reads the whole log once, the next ones only what is new. Several server instances on one
 * database each keep their own index over the same shared log.
 */
import type { AuditRecord, StorageTx } from '../store/storage.js';

/** What the index needs from a vault: `Vault.readTransaction`. */
export interface AuditSource {
  readTransaction<T>(fn: (tx: StorageTx) => Promise<T>): Promise<T>;
}

const BATCH = 5000;

export class LastReads {
  readonly #last = new Map<string, string>();
  #afterSeq = 0;
  #pending: Promise<void> | undefined;

  /** Reads the records appended since the last call (concurrent callers share one pass). */
  refresh(source: AuditSource): Promise<void> {
    this.#pending ??= this.#catchUp(source).finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  /** The time of the last successful read of `path` in `env`, if the log has one. */
  get(path: string, env: string): string | undefined {
    return this.#last.get(`${path}\u0000${env}`);
  }

  async #catchUp(source: AuditSource): Promise<void> {
    for (;;) {
      const rows: AuditRecord[] = await source.readTransaction((tx) =>
        tx.listAudit({ afterSeq: this.#afterSeq, limit: BATCH }),
      );
      for (const r of rows) {
        if (r.action === 'get' && r.outcome === 'ok' && r.path !== null && r.env !== null) {
          this.#last.set(`${r.path}\u0000${r.env}`, r.ts);
        }
      }
      if (rows.length > 0) this.#afterSeq = rows[rows.length - 1]!.seq;
      if (rows.length < BATCH) return;
    }
  }
}
