/**
 * The check of the whole audit chain that a server runs for its callers (`GET
 * /v1/audit/verify` and the web UI's audit page), at most one walk at a time.
 *
 * `verifyAudit` reads every record in one read transaction, and on SQLite a transaction holds
 * up every other request for as long as it lasts: on a long log, each check stalls the
 * server. So checks asked while a walk runs wait for that walk and share its result, and
 * `recent` (the web UI, which shows the chain's state on every page of the log, each filter
 * and each "older" page) reuses the last result while the log's head (its last record and the
 * stored head) has not moved, for at most `maxAgeMs`. An edit in place of an older record
 * leaves the head as it was, so a reused result may miss it for that long; a record appended
 * since, or the time passed, starts a new walk. A log that grows between checks is walked on
 * each, one walk at a time.
 *
 * It does not make one walk cheaper (that stays one transaction, so the result describes one
 * state of the log), nor share results between server instances on one database.
 */
import type { Vault } from '../store/vault.js';
import { META_AUDIT_HEAD } from './head.js';
import { type AuditVerifyResult, verifyAudit } from './log.js';

/** How long `recent` reuses a result while the log's head has not moved. */
export const CHAIN_CHECK_REUSE_MS = 60_000;

export interface AuditChainCheckOptions {
  now?: (() => Date) | undefined;
  /** How long a result is reused while the head stays (default one minute). */
  maxAgeMs?: number | undefined;
}

export class AuditChainCheck {
  readonly #vault: Vault;
  readonly #now: () => Date;
  readonly #maxAgeMs: number;
  #last: { head: string; at: number; result: AuditVerifyResult } | undefined;
  #running: Promise<AuditVerifyResult> | undefined;

  constructor(vault: Vault, options: AuditChainCheckOptions = {}) {
    this.#vault = vault;
    this.#now = options.now ?? (() => new Date());
    this.#maxAgeMs = options.maxAgeMs ?? CHAIN_CHECK_REUSE_MS;
  }

  /**
   * A new walk of the whole chain, or the one running when this is called (checks asked
   * together share it). For a check someone asked for: it sees the log as it is, an edit in
   * place included.
   */
  fresh(): Promise<AuditVerifyResult> {
    this.#running ??= this.#walk().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  /** The last walk's result while the head has not moved and it is recent, else `fresh`. */
  async recent(): Promise<AuditVerifyResult> {
    const last = this.#last;
    if (last !== undefined && this.#now().getTime() - last.at < this.#maxAgeMs) {
      if ((await this.#head()) === last.head) return last.result;
    }
    return this.fresh();
  }

  async #walk(): Promise<AuditVerifyResult> {
    // The head is read before the walk: a record appended in between moves it past what is
    // kept, so the next `recent` walks again rather than reuse a result that missed it.
    const head = await this.#head();
    const at = this.#now().getTime();
    const result = await verifyAudit(this.#vault);
    this.#last = { head, at, result };
    return result;
  }

  /** The log's head: the last record's seq and hash, and the stored head (one small read). */
  #head(): Promise<string> {
    return this.#vault.readTransaction(async (tx) => {
      const last = await tx.lastAudit();
      const stored = await tx.getMeta(META_AUDIT_HEAD);
      return JSON.stringify([last?.seq ?? 0, last?.hash ?? '', stored ?? '']);
    });
  }
}
