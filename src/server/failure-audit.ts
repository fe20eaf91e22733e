/**
 * Audit records of failed authentications, aggregated so that guessing cannot grow the
 * audit log (or make the server fsync) without bound.
 *
 * - The first failure from an address in a window (default 60 s, the rate limit's) is
 *   recorded at once, as it happens: actor `token:NAME@ADDRESS` or `unauthenticated@ADDRESS`,
 *   detail the reason (missing, malformed, unknown, mismatch, expired, revoked).
 * - Further failures from that address in the same window, and its requests refused by the
 *   rate limit, are counted in memory and written as one record when the window ends:
 *   actor `unauthenticated@ADDRESS`, detail `N more failed authentications in 60 s
 *   (mismatch 40, unknown 2); M requests refused by the rate limit`.
 * - At most `maxAddressesPerWindow` addresses (default 100) get records of their own per
 *   window of the whole server. Failures from any further address are counted together and
 *   written as one record when that window ends: actor `unauthenticated@*`, detail
 *   `N failed authentications from addresses past the audit cap (100 addresses in 60 s)`.
 *
 * So a window adds at most 2 x maxAddressesPerWindow + 1 records, however many addresses
 * an attacker has, and memory holds at most about twice that many addresses (an address is
 * tracked only while its own record's window lasts). Counts are written by a timer that runs
 * only while something is pending (unref'd: it never keeps the process alive), and by
 * `close` at shutdown. A summary that cannot be written is logged by the caller's `write`.
 */

/** Writes one `authenticate` / `denied` audit record (never throws; logs its own failure). */
export type WriteDenied = (actor: string, detail: string) => Promise<void>;

export interface FailureAuditOptions {
  /** The aggregation window, in ms (default 60 000). */
  windowMs?: number;
  /** Addresses recorded individually per window of the whole server (default 100). */
  maxAddressesPerWindow?: number;
  /** How often ended windows are written out, in ms (default: a sixth of the window). */
  sweepMs?: number;
  /** Clock in ms (tests). */
  now?: () => number;
}

interface GlobalWindow {
  endsAt: number;
  /** Addresses given records of their own in this window. */
  addresses: number;
  /** Failures from other addresses, and their requests the rate limit refused. */
  overflow: number;
  refused: number;
}

interface Pending {
  endsAt: number;
  more: number;
  refused: number;
  reasons: Map<string, number>;
}

/** `n` and `noun`, in the plural when n is not 1. */
function count(n: number, noun: string, plural = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : plural}`;
}

export class FailureAudit {
  readonly #write: WriteDenied;
  readonly #windowMs: number;
  readonly #maxPerWindow: number;
  readonly #sweepMs: number;
  readonly #now: () => number;
  readonly #pending = new Map<string, Pending>();
  #global: GlobalWindow = { endsAt: 0, addresses: 0, overflow: 0, refused: 0 };
  #timer: NodeJS.Timeout | undefined;
  readonly #writes = new Set<Promise<void>>();

  constructor(write: WriteDenied, options: FailureAuditOptions = {}) {
    this.#write = write;
    this.#windowMs = options.windowMs ?? 60_000;
    this.#maxPerWindow = options.maxAddressesPerWindow ?? 100;
    this.#sweepMs = options.sweepMs ?? Math.max(100, Math.floor(this.#windowMs / 6));
    this.#now = options.now ?? Date.now;
    if (!Number.isSafeInteger(this.#maxPerWindow) || this.#maxPerWindow < 1) {
      throw new RangeError('maxAddressesPerWindow must be a whole number >= 1');
    }
  }

  /**
   * Counts one failed authentication. Returns the write of its record when it is the first
   * of its address's window (the caller waits for it: a refusal is audited before it is
   * answered); otherwise undefined, and the failure is in a later summary.
   */
  failure(address: string, actor: string, reason: string): Promise<void> | undefined {
    const now = this.#now();
    const entry = this.#live(address, now);
    if (entry !== undefined) {
      entry.more++;
      entry.reasons.set(reason, (entry.reasons.get(reason) ?? 0) + 1);
      return undefined;
    }
    const global = this.#globalWindow(now);
    if (global.addresses >= this.#maxPerWindow) {
      global.overflow++;
      this.#schedule();
      return undefined;
    }
    global.addresses++;
    this.#pending.set(address, {
      endsAt: now + this.#windowMs,
      more: 0,
      refused: 0,
      reasons: new Map(),
    });
    this.#schedule();
    return this.#track(this.#write(actor, reason));
  }

  /** Counts a request from `address` that the rate limit refused (no record of its own). */
  refused(address: string): void {
    const now = this.#now();
    const entry = this.#live(address, now);
    if (entry !== undefined) entry.refused++;
    else {
      this.#globalWindow(now).refused++;
      this.#schedule();
    }
  }

  /** Writes the summaries of ended windows (of every window with `all`) and waits for them. */
  async flush(all = false): Promise<void> {
    const now = this.#now();
    for (const [address, entry] of this.#pending) {
      if (all || now >= entry.endsAt) {
        this.#pending.delete(address);
        this.#summarise(address, entry);
      }
    }
    if (all || now >= this.#global.endsAt) this.#summariseGlobal();
    if (this.#pending.size === 0 && this.#global.overflow + this.#global.refused === 0) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
    await Promise.all([...this.#writes]);
  }

  /** Writes everything still pending (at shutdown) and stops the timer. */
  close(): Promise<void> {
    return this.flush(true);
  }

  /** Addresses tracked (tests). */
  get size(): number {
    return this.#pending.size;
  }

  #live(address: string, now: number): Pending | undefined {
    const entry = this.#pending.get(address);
    if (entry === undefined || now < entry.endsAt) return entry;
    // Its window ended before the sweep wrote it out: write it now, then start afresh.
    this.#pending.delete(address);
    this.#summarise(address, entry);
    return undefined;
  }

  #globalWindow(now: number): GlobalWindow {
    if (now >= this.#global.endsAt) {
      // Addresses of the window before last have all ended: written out here as well as by
      // the timer, so the map never holds more than two windows' worth of addresses.
      for (const [address, entry] of this.#pending) {
        if (now >= entry.endsAt) {
          this.#pending.delete(address);
          this.#summarise(address, entry);
        }
      }
      this.#summariseGlobal();
      this.#global = { endsAt: now + this.#windowMs, addresses: 0, overflow: 0, refused: 0 };
    }
    return this.#global;
  }

  #summarise(address: string, entry: Pending): void {
    if (entry.more === 0 && entry.refused === 0) return;
    const parts: string[] = [];
    if (entry.more > 0) {
      const reasons = [...entry.reasons].map(([r, n]) => `${r} ${n}`).join(', ');
      parts.push(
        `${count(entry.more, 'more failed authentication')} in ${this.#seconds} (${reasons})`,
      );
    }
    if (entry.refused > 0)
      parts.push(`${count(entry.refused, 'request')} refused by the rate limit`);
    void this.#track(this.#write(`unauthenticated@${address}`, parts.join('; ')));
  }

  #summariseGlobal(): void {
    const g = this.#global;
    if (g.overflow === 0 && g.refused === 0) return;
    const parts: string[] = [];
    if (g.overflow > 0) {
      parts.push(
        `${count(g.overflow, 'failed authentication')} from addresses past the audit cap ` +
          `(${count(this.#maxPerWindow, 'address', 'addresses')} in ${this.#seconds})`,
      );
    }
    if (g.refused > 0) parts.push(`${count(g.refused, 'request')} refused by the rate limit`);
    g.overflow = 0;
    g.refused = 0;
    void this.#track(this.#write('unauthenticated@*', parts.join('; ')));
  }

  get #seconds(): string {
    return `${Math.round(this.#windowMs / 1000)} s`;
  }

  #schedule(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => void this.flush(), this.#sweepMs);
    this.#timer.unref();
  }

  #track(write: Promise<void>): Promise<void> {
    this.#writes.add(write);
    const done = (): void => {
      this.#writes.delete(write);
    };
    write.then(done, done);
    return write;
  }
}
