/**
 * The failed-authentication limit of `coffer serve`, per client address.
 *
 * Each address has a fixed window (default 60 s) in which it may fail authentication a
 * number of times (default 10). Past that, the address is limited until the window ends:
 * what auth-middleware.ts then still serves is a valid token (behind a proxy many clients
 * share an address), and everything else gets 429 with `Retry-After`. Successful requests
 * neither count nor reset the window; failures while limited count.
 *
 * The table is in memory, per server process: with N instances behind a balancer an address
 * gets N times the budget (SECURITY.md). It holds at most `maxClients` addresses; when full,
 * finished windows are dropped first, then the oldest ones, so a flood of spoofed sources
 * cannot grow memory without bound.
 */

export interface RateLimitOptions {
  /** Failures allowed per window (default 10). */
  maxFailures?: number;
  /** The window, in ms (default 60 000). */
  windowMs?: number;
  /** Addresses tracked at most (default 10 000). */
  maxClients?: number;
  /** Clock in ms (tests). */
  now?: () => number;
}

interface Window {
  failures: number;
  resetAt: number;
}

export class FailureLimiter {
  readonly #max: number;
  readonly #windowMs: number;
  readonly #maxClients: number;
  readonly #now: () => number;
  readonly #windows = new Map<string, Window>();

  constructor(options: RateLimitOptions = {}) {
    this.#max = options.maxFailures ?? 10;
    this.#windowMs = options.windowMs ?? 60_000;
    this.#maxClients = options.maxClients ?? 10_000;
    this.#now = options.now ?? Date.now;
    if (!Number.isSafeInteger(this.#max) || this.#max < 1) {
      throw new RangeError('maxFailures must be a whole number >= 1');
    }
    if (!(this.#windowMs >= 1000)) throw new RangeError('windowMs must be >= 1000');
  }

  /** Seconds until `address` may try again, or undefined when it is not blocked. */
  retryAfter(address: string): number | undefined {
    const w = this.#windows.get(address);
    if (w === undefined) return undefined;
    const now = this.#now();
    if (now >= w.resetAt) {
      this.#windows.delete(address);
      return undefined;
    }
    return w.failures >= this.#max ? Math.max(1, Math.ceil((w.resetAt - now) / 1000)) : undefined;
  }

  /** Counts one failed authentication from `address`. */
  fail(address: string): void {
    const now = this.#now();
    const w = this.#windows.get(address);
    if (w !== undefined && now < w.resetAt) {
      w.failures++;
      return;
    }
    this.#windows.delete(address);
    if (this.#windows.size >= this.#maxClients) this.#evict(now);
    this.#windows.set(address, { failures: 1, resetAt: now + this.#windowMs });
  }

  /** Addresses currently tracked (tests and metrics). */
  get size(): number {
    return this.#windows.size;
  }

  #evict(now: number): void {
    for (const [address, w] of this.#windows) if (now >= w.resetAt) this.#windows.delete(address);
    // Still full: drop the oldest windows (a Map iterates in insertion order).
    for (const address of this.#windows.keys()) {
      if (this.#windows.size < this.#maxClients) break;
      this.#windows.delete(address);
    }
  }
}
