/**
 * The failed-attempt limit per client address: for guesses of a secret a caller must hold,
 * `coffer serve`'s bearer tokens (server/token-gate.ts) and the link tokens of secret
 * requests' one-time pages, on `coffer serve` and on `coffer mcp` (requests/link-guesses.ts).
 *
 * Each address has a fixed window (default 60 s) in which it may fail authentication a
 * number of times (default 10). Past that, the address is limited until the window ends:
 * what auth-middleware.ts then still serves is a valid token (behind a proxy many clients
 * share an address), and everything else gets 429 with `Retry-After`. Successful requests
 * neither count nor reset the window; failures while limited count.
 *
 * An attempt counts against the budget from the moment it starts (`begin`), not only once it
 * has failed: the token lookup it waits for is real I/O on PostgreSQL, and without that a
 * burst of concurrent guesses would all pass the check before the first one failed. An
 * attempt that then succeeds gives its place back; one that fails becomes a failure.
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
  /** A refusal of this window was reported (`firstRefusal`): later ones are not. */
  refusalNoted: boolean;
  /** Attempts started and not yet ended (each counts against the budget meanwhile). */
  inFlight: number;
  resetAt: number;
}

/** One authentication attempt in progress: end it exactly once. */
export interface Attempt {
  /** The attempt succeeded: its place in the budget is given back. */
  succeeded(): void;
  /** The attempt failed: it counts as a failure of its address. */
  failed(): void;
  /** The attempt ended without a verdict (an error): its place is given back uncounted. */
  abandoned(): void;
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
    return w.failures + w.inFlight >= this.#max
      ? Math.max(1, Math.ceil((w.resetAt - now) / 1000))
      : undefined;
  }

  /**
   * Starts an authentication attempt from `address`: until it ends it counts against the
   * address's budget as a failure would, so that attempts in flight at once cannot exceed
   * the budget together. Call right after `retryAfter`, with no await between.
   */
  begin(address: string): Attempt {
    const w = this.#window(address);
    w.inFlight++;
    let ended = false;
    const end = (): boolean => {
      if (ended) return false;
      ended = true;
      // The window may have ended (or been evicted) meanwhile: w is then no longer counted.
      w.inFlight--;
      return true;
    };
    const release = () => {
      // A window that only ever held attempts that did not fail is dropped: successes
      // neither start nor reset a window.
      if (end() && w.failures === 0 && w.inFlight === 0 && this.#windows.get(address) === w) {
        this.#windows.delete(address);
      }
    };
    return {
      succeeded: release,
      failed: () => {
        if (end()) this.fail(address);
      },
      abandoned: release,
    };
  }

  /**
   * True for the first refusal of `address` in its current window, false for the later ones
   * (and for an address that is not limited): a front end audits a limited address once per
   * window, so a flood of refused guesses does not flood the audit log.
   */
  firstRefusal(address: string): boolean {
    if (this.retryAfter(address) === undefined) return false;
    const w = this.#windows.get(address)!;
    if (w.refusalNoted) return false;
    w.refusalNoted = true;
    return true;
  }

  /** The failures allowed per window, and the window in seconds (for messages). */
  get budget(): { failures: number; seconds: number } {
    return { failures: this.#max, seconds: Math.round(this.#windowMs / 1000) };
  }

  /** Counts one failed authentication from `address`. */
  fail(address: string): void {
    this.#window(address).failures++;
  }

  /** The current window of `address`, started now when it has none. */
  #window(address: string): Window {
    const now = this.#now();
    const w = this.#windows.get(address);
    if (w !== undefined && now < w.resetAt) return w;
    this.#windows.delete(address);
    if (this.#windows.size >= this.#maxClients) this.#evict(now);
    const fresh = { failures: 0, refusalNoted: false, inFlight: 0, resetAt: now + this.#windowMs };
    this.#windows.set(address, fresh);
    return fresh;
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
