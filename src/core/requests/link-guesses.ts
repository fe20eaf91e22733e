/**
 * The failure budget of the one-time pages of secret requests (`/r/...` of `coffer serve` and
 * of `coffer mcp`): a link's token is 256 random bits, but nothing else stopped a client from
 * trying links as fast as the server answers, each a lookup (a read of the store on `coffer
 * serve`). The budget is the API's (access/failure-limiter.ts): per client address, 10 links
 * that name no request per 60 s window by default, each lookup counted from the moment it
 * starts so that concurrent guesses cannot all get through. Past it, every link from that
 * address is refused without a lookup until the window ends (HTTP 429 with Retry-After, for
 * the front end), the right one too: only the address's guesses are refused, and the user's
 * link works again after the window.
 *
 * A link that is not even of a link's shape (a token of another length or alphabet, a segment
 * missing or one too many under `/r/`) is such a guess too, counted the same (`malformed`):
 * the budget is of guesses, and a page that answered those 404 without counting them let an
 * address try links for free.
 *
 * Audit: the first refusal of an address's window is recorded through `deny` (the front end
 * writes it as `request_page`, denied, actor `unauthenticated@ADDRESS`); the others of that
 * window are not, so a flood does not flood the log. Links that name no request are not
 * audited one by one (there is no request to name), as before. Never the token.
 */

import { FailureLimiter, type RateLimitOptions } from '../access/failure-limiter.js';
import { CofferError } from '../errors.js';

/** Records that `address` is refused for guessing links (detail says why; never a token). */
export type GuessDenier = (address: string, detail: string) => Promise<void>;

/** What `admit` decided: the lookup's value, or the seconds the address must wait. */
export type Admitted<T> = { value: T } | { retryAfter: number };

export class LinkGuesses {
  readonly #limiter: FailureLimiter;
  readonly #deny: GuessDenier;

  /** `options`: the budget and its clock (default 10 per 60 s, Date.now). */
  constructor(deny: GuessDenier, options: RateLimitOptions = {}) {
    this.#deny = deny;
    this.#limiter = new FailureLimiter(options);
  }

  /**
   * Runs `lookup` (of the request a link names) for a page asked for from `address`, within
   * its budget: a lookup that throws REQUEST_NOT_FOUND counts as a failed guess (and is
   * rethrown); one that finds the request (or a closed one: REQUEST_CLOSED) gives its place
   * back. A limited address gets `retryAfter` without any lookup, its first refusal of the
   * window audited through `deny`.
   */
  async admit<T>(address: string, lookup: () => Promise<T>): Promise<Admitted<T>> {
    const retryAfter = this.#limiter.retryAfter(address);
    if (retryAfter !== undefined) {
      if (this.#limiter.firstRefusal(address)) {
        const { failures, seconds } = this.#limiter.budget;
        await this.#deny(
          address,
          `request links from ${address} refused for ${retryAfter} s: ${failures} links that name no request in ${seconds} s`,
        );
      }
      return { retryAfter };
    }
    const attempt = this.#limiter.begin(address);
    let value: T;
    try {
      value = await lookup();
    } catch (err) {
      if (err instanceof CofferError && err.code === 'REQUEST_NOT_FOUND') attempt.failed();
      else if (err instanceof CofferError && err.code === 'REQUEST_CLOSED') attempt.succeeded();
      else attempt.abandoned();
      throw err;
    }
    attempt.succeeded();
    return { value };
  }

  /**
   * A page asked for from `address` with a link under `/r/` that names no request by its
   * shape alone: within the budget as `admit`, it counts as a failed guess and throws
   * REQUEST_NOT_FOUND (the front end's 404); a limited address gets `retryAfter`, its first
   * refusal of the window audited.
   */
  async malformed(address: string): Promise<{ retryAfter: number }> {
    // The lookup always throws: admit either rethrows it or answers retryAfter.
    return (await this.admit<never>(address, () => Promise.reject(linkNotValid()))) as {
      retryAfter: number;
    };
  }
}

/** What a link that names no request gets (the page's 404): never the link. */
export function linkNotValid(): CofferError {
  return new CofferError('REQUEST_NOT_FOUND', 'this link is not valid');
}

/** Where the one-time pages' links live: every path under it is a guess of a link. */
export const LINK_PATH_PREFIX = '/r/';
