/**
 * Group commit for secret reads. Every read writes an audit record in a write transaction,
 * and a transaction has a fixed cost (on SQLite about 35 us on the event loop: BEGIN, the
 * chain head, COMMIT writing the WAL; on PostgreSQL round trips and a WAL flush), so reads
 * that arrive together share one: `Vault.getMany` opens all their values and appends one
 * audit record each, then commits once.
 *
 * Batching: the first read to arrive schedules a flush with setImmediate, so every read
 * whose request was parsed in the same turn of the event loop joins it. If that turn brought
 * more reads, the flush waits one more turn, and so on while reads keep arriving (at most
 * `MAX_WAIT_TURNS` turns, at most `maxBatch` reads): under load the answers of one commit
 * make their clients send the next requests at about the same time, and waiting a turn or
 * two lets most of them share the next commit instead of splitting it in two. While a batch
 * is being committed (a PostgreSQL round trip, say), new reads queue up and form the next
 * batch as soon as it is done: one batch in flight at a time. An idle server adds no delay:
 * a lone read is committed on the next turn.
 *
 * The guarantee of `getMany` holds for each caller: no value is handed back before the
 * transaction holding its audit record has committed. With `deferSync` (the server's
 * default) that commit may reach the disk a few ms after the answer (TxOptions); without
 * it the answer waits for the fsync too.
 */
import type { ReadRequest, SecretValue, Vault } from '../core/store/vault.js';

/** Turns of the event loop a flush may wait for more reads (see above). */
export const MAX_WAIT_TURNS = 4;

interface Pending {
  request: ReadRequest;
  resolve: (value: SecretValue) => void;
  reject: (error: unknown) => void;
}

export class ReadBatcher {
  readonly #vault: Vault;
  readonly #maxBatch: number;
  readonly #deferSync: boolean;
  #queue: Pending[] = [];
  #busy = false;
  #scheduled = false;
  /** Queue length at the last check, and turns waited, while a flush is scheduled. */
  #seen = 0;
  #turns = 0;
  /** Batches committed so far, and reads in them (tests, metrics). */
  batches = 0;
  reads = 0;

  constructor(vault: Vault, maxBatch = 256, options: { deferSync?: boolean } = {}) {
    if (!Number.isSafeInteger(maxBatch) || maxBatch < 1) {
      throw new RangeError('maxBatch must be a whole number >= 1');
    }
    this.#vault = vault;
    this.#maxBatch = maxBatch;
    this.#deferSync = options.deferSync === true;
  }

  /** Reads one secret as `request.actor`; settles once its audit record is committed. */
  read(request: ReadRequest): Promise<SecretValue> {
    return new Promise<SecretValue>((resolve, reject) => {
      this.#queue.push({ request, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#busy || this.#scheduled || this.#queue.length === 0) return;
    this.#scheduled = true;
    this.#seen = this.#queue.length;
    this.#turns = 0;
    setImmediate(this.#tick);
  }

  readonly #tick = (): void => {
    const n = this.#queue.length;
    if (n > this.#seen && n < this.#maxBatch && this.#turns < MAX_WAIT_TURNS) {
      this.#seen = n;
      this.#turns++;
      setImmediate(this.#tick);
      return;
    }
    this.#scheduled = false;
    void this.#flush();
  };

  async #flush(): Promise<void> {
    if (this.#busy || this.#queue.length === 0) return;
    this.#busy = true;
    const batch =
      this.#queue.length <= this.#maxBatch
        ? this.#queue.splice(0)
        : this.#queue.splice(0, this.#maxBatch);
    try {
      const outcomes = await this.#vault.getMany(
        batch.map((p) => p.request),
        { deferSync: this.#deferSync },
      );
      this.batches++;
      this.reads += batch.length;
      for (let i = 0; i < batch.length; i++) {
        const outcome = outcomes[i]!;
        if (outcome.ok) batch[i]!.resolve(outcome.value);
        else batch[i]!.reject(outcome.error);
      }
    } catch (err) {
      for (const p of batch) p.reject(err);
    } finally {
      this.#busy = false;
      this.#schedule();
    }
  }
}
