/**
 * Group commit for a long-running process (`coffer serve`): fsyncs of the vault's WAL file
 * done off the event loop (libuv's thread pool) and shared between transactions.
 *
 * The connection runs with synchronous=NORMAL: COMMIT writes the WAL without syncing it
 * (SQLite still syncs it before every checkpoint, so the file is never corrupted, whatever
 * happens). A transaction that must be durable when it returns then waits for `barrier()`:
 * an fsync that started after its COMMIT, so the two together are as durable as
 * synchronous=FULL, but the event loop keeps serving while the disk works, and every
 * transaction committed while one fsync runs shares the next one.
 *
 * A transaction committed with `deferSync` calls `soon()` instead: its commit is visible to
 * every reader and survives a crash of the process at once, and reaches the disk within
 * `flushMs` (a power loss or OS crash inside that window can lose it; the vault comes back
 * as of an earlier commit).
 *
 * A failed fsync is not retried (after a failed fsync the kernel may have dropped the dirty
 * pages: a retry could succeed without the data being on disk): every later barrier and
 * transaction fails with the same error, so nothing more is acknowledged.
 */
import { closeSync, fdatasync, openSync } from 'node:fs';
import { CofferError } from '../../core/errors.js';

/** Longest time a deferred commit waits for its fsync, in ms. */
export const DEFAULT_FLUSH_MS = 10;

export class WalSync {
  readonly #file: string;
  readonly #flushMs: number;
  readonly #datasync: typeof fdatasync;
  #fd: number | undefined;
  /** The fsync running now, and the one queued behind it (shared by its waiters). */
  #running: Promise<void> | undefined;
  #next: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #failure: CofferError | undefined;
  /** fsyncs started so far (tests, metrics). */
  syncs: number = 0;

  /** `datasync` replaces node's fdatasync (tests inject failures). */
  constructor(
    file: string,
    flushMs: number = DEFAULT_FLUSH_MS,
    datasync: typeof fdatasync = fdatasync,
  ) {
    this.#file = file;
    this.#flushMs = flushMs;
    this.#datasync = datasync;
  }

  /** The error of a failed fsync, after which nothing may be acknowledged. */
  get failure(): CofferError | undefined {
    return this.#failure;
  }

  /** Resolves once everything committed before the call is on disk. */
  barrier(): Promise<void> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    if (this.#running === undefined) return this.#start();
    // The running fsync may have started before the caller's commit: wait for the next.
    this.#next ??= this.#running.then(
      () => this.#start(),
      () => this.#start(),
    );
    return this.#next;
  }

  /** Makes sure an fsync starts within `flushMs` (for commits made with `deferSync`). */
  soon(): void {
    if (this.#timer !== undefined || this.#failure !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      // A failure is kept in #failure and reported to the next transaction.
      this.barrier().catch(() => undefined);
    }, this.#flushMs);
  }

  #start(): Promise<void> {
    this.#next = undefined;
    const running = this.#sync().finally(() => {
      if (this.#running === running) this.#running = undefined;
    });
    this.#running = running;
    return running;
  }

  async #sync(): Promise<void> {
    if (this.#failure !== undefined) throw this.#failure;
    this.syncs++;
    try {
      // Opened at the first fsync: SQLite creates the WAL at the first commit. Any
      // descriptor of a file syncs the file.
      this.#fd ??= openSync(this.#file, 'r');
      const fd = this.#fd;
      await new Promise<void>((resolve, reject) => {
        this.#datasync(fd, (err) => (err ? reject(err) : resolve()));
      });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      this.#failure = new CofferError(
        'IO_ERROR',
        `cannot sync the vault's write-ahead log ${this.#file} to disk (${code}); restart the server once the disk is healthy`,
      );
      throw this.#failure;
    }
  }

  /** Flushes what is pending, then closes the file. */
  async close(): Promise<void> {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      await this.barrier().catch(() => undefined);
    }
    await Promise.allSettled([this.#running, this.#next]);
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }
}
