/**
 * Secret requests: an agent asks for a value that only the user has (an API key from a
 * provider's dashboard), and the user gives it to the vault directly, on a one-time page,
 * instead of pasting it into the chat. This module holds the rules; the page (HTTP) and the
 * MCP tools are front ends.
 *
 * - Each request has a public id (what the agent polls with) and a secret token (256 bits,
 *   only in the page's URL, kept here as its SHA-256 and compared in constant time).
 * - A request expires 10 minutes after it is made (injected clock). Its token works once: the
 *   first submission (a value or a refusal) ends it, whatever happens next.
 * - Storing is the caller's `store` callback (the vault first, then a .env file); the value
 *   is passed on and never kept here.
 * - Every outcome (opened, stored, declined, expired, failed) goes to the `audit` callback
 *   with the agent's identity, the key path and the environment, never the value.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { CofferError } from '../errors.js';
import type { Vault } from '../store/vault.js';
import { assertAnswerValue } from './answer-value.js';
import { linkNotValid } from './link-guesses.js';

/** A page token: 32 random bytes in base64url. */
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

/** How long a request's link works. */
export const REQUEST_TTL_MS: number = 10 * 60 * 1000;
/**
 * Requests one agent may have waiting for the user at once (one `coffer mcp` process, or one
 * API token of `coffer serve`): an agent that keeps opening them (a loop, a prompt injection)
 * is stopped before it buries the user in pages.
 */
export const MAX_OPEN_REQUESTS = 20;
/**
 * Requests all the tokens of a `coffer serve` vault may have waiting at once: many tokens
 * together cannot fill the store either.
 */
export const MAX_OPEN_REQUESTS_TOTAL = 200;
/** How many waiting requests a signed-in user is shown at once (the newest). */
export const WAITING_SHOWN = 100;

/**
 * Refuses a new request (RATE_LIMITED) when its agent already has MAX_OPEN_REQUESTS waiting
 * (`mine`), or all agents together MAX_OPEN_REQUESTS_TOTAL (`all`). Waiting: neither
 * answered, declined nor expired.
 */
export function assertOpenSlot(mine: number, all: number = mine): void {
  const hint =
    'Wait until the user answers or declines them (request_status), or until they expire after 10 minutes.';
  if (mine >= MAX_OPEN_REQUESTS) {
    throw new CofferError(
      'RATE_LIMITED',
      `${mine} secret requests are already waiting for the user`,
      {
        hint,
      },
    );
  }
  if (all >= MAX_OPEN_REQUESTS_TOTAL) {
    throw new CofferError(
      'RATE_LIMITED',
      `${all} secret requests of all agents are already waiting for an answer`,
      { hint },
    );
  }
}

/**
 * The newest `limit` of `requests` that `visible` lets through, oldest first, and how many
 * more of those are waiting beyond them.
 */
export function newestWaiting(
  requests: readonly SecretRequestView[],
  visible: (r: SecretRequestView) => boolean = () => true,
  limit: number = WAITING_SHOWN,
): { requests: SecretRequestView[]; more: number } {
  const shown = requests
    .filter(visible)
    .sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt));
  return {
    requests: shown.slice(Math.max(0, shown.length - limit)),
    more: Math.max(0, shown.length - limit),
  };
}
/** How long an ended request stays readable by id (request_status) before it is dropped. */
const KEEP_ENDED_MS = 24 * 60 * 60 * 1000;

export type RequestStatus = 'pending' | 'opened' | 'stored' | 'declined' | 'expired' | 'failed';

/** What a request asks for (all of it may be shown to the user and the agent). */
export interface SecretRequestInput {
  path: string;
  env: string;
  description: string;
  /** The dotenv file to write after storing, relative to the agent's project, if asked. */
  writeEnv?: string | undefined;
  /** Who asks: the MCP client's declared name (and COFFER_AGENT_ID). */
  actor: string;
}

/** A request as the agent and the page see it: never the token, never a value. */
export interface SecretRequestView extends SecretRequestInput {
  id: string;
  status: RequestStatus;
  createdAt: string;
  expiresAt: string;
  /** The stored version, once stored. */
  version?: number;
  /** Variables written to the .env file, once stored with writeEnv. */
  written?: string[];
  /**
   * Why the .env file could not be written although the value is stored (a coded message
   * that holds no value): the request is `stored`, the file is for write_env to retry.
   */
  writeEnvError?: string;
  /** Why storing failed (a coded error message that holds no value). */
  error?: string;
}

export type RequestOutcome = 'opened' | 'stored' | 'declined' | 'expired' | 'failed';

export interface SecretRequestDeps {
  /** Stores the value (vault first, then the .env file); returns the version and written names. */
  store(
    request: SecretRequestView,
    value: string,
  ): Promise<{ version: number; written?: string[]; writeEnvError?: string }>;
  /** Records an outcome; failures of this callback fail the operation (audit fails closed). */
  audit(request: SecretRequestView, outcome: RequestOutcome, detail: string): Promise<void>;
  /**
   * Records a refused use of a request's page (a wrong Host, Origin or CSRF field) as denied:
   * `reason` says which, never the token or what the form held.
   */
  refused?(request: SecretRequestView, reason: string): Promise<void>;
  now?: () => number;
  random?: (bytes: number) => Buffer;
}

/** Where an answer given by a signed-in user is stored: the vault acting as that user. */
export type AnsweringVault = Pick<Vault, 'set' | 'actor'>;

/**
 * The requests a signed-in user (the web UI) sees and answers, whichever registry holds them:
 * this process's (SecretRequests) or the store's (StoredSecretRequests, `coffer serve`). The
 * caller decides who may see or answer which request; a request is answered or declined once.
 */
export interface RequestInbox {
  /**
   * The requests still waiting for a value (pending or opened, not expired) that `visible`
   * lets through: the newest WAITING_SHOWN of them, oldest first, with how many more are
   * waiting (`more`), and how many stored ones were left out because they fail their
   * integrity check.
   */
  waiting(
    visible?: (r: SecretRequestView) => boolean,
  ): Promise<{ requests: SecretRequestView[]; more: number; unverifiable: number }>;
  /** Request `id`'s view without any change or audit, or undefined: for access checks. */
  peek(id: string): Promise<SecretRequestView | undefined>;
  /**
   * Stores `value` for request `id` as `vault`'s actor (its `set` record), the request spent
   * first: REQUEST_CLOSED when it was answered, declined or expired before.
   */
  answer(id: string, value: string, vault: AnsweringVault): Promise<SecretRequestView>;
  /** The signed-in user `by` declines request `id`; REQUEST_CLOSED when it is over. */
  declineById(id: string, by: string): Promise<SecretRequestView>;
}

/** The value given in another front end, stored as its user (no .env file: not the agent's). */
export async function storeAnswer(
  vault: AnsweringVault,
  request: SecretRequestView,
  value: string,
): Promise<{ version: number }> {
  const stored = await vault.set(request.path, request.env, value, {
    description: request.description,
  });
  return { version: stored.version };
}

interface Entry {
  view: SecretRequestView;
  tokenHash: Buffer;
  expires: number;
  /** The token was used (a submission or refusal started): it never works again. */
  used: boolean;
  waiters: (() => void)[];
}

const hashToken = (token: string) => createHash('sha256').update(token, 'utf8').digest();

const done = (s: RequestStatus) =>
  s === 'stored' || s === 'declined' || s === 'expired' || s === 'failed';

/** The requests of one server process. */
export class SecretRequests implements RequestInbox {
  readonly #entries = new Map<string, Entry>();
  readonly #deps: SecretRequestDeps;
  readonly #now: () => number;
  readonly #random: (bytes: number) => Buffer;

  constructor(deps: SecretRequestDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
    this.#random = deps.random ?? randomBytes;
  }

  /** Opens a request; returns its view and the token for the page URL (shown once). */
  create(input: SecretRequestInput): { request: SecretRequestView; token: string } {
    const now = this.#now();
    let open = 0;
    for (const [id, e] of this.#entries) {
      if (e.expires + KEEP_ENDED_MS <= now) this.#entries.delete(id);
      else if (!done(e.view.status) && now < e.expires) open++;
    }
    assertOpenSlot(open);
    const id = `req_${this.#random(12).toString('hex')}`;
    const token = this.#random(32).toString('base64url');
    const view: SecretRequestView = {
      ...input,
      id,
      status: 'pending',
      createdAt: new Date(now).toISOString(),
      expiresAt: new Date(now + REQUEST_TTL_MS).toISOString(),
    };
    this.#entries.set(id, {
      view,
      tokenHash: hashToken(token),
      expires: now + REQUEST_TTL_MS,
      used: false,
      waiters: [],
    });
    return { request: { ...view }, token };
  }

  /** The request's current view (expired ones are marked so, and audited once). */
  async status(id: string): Promise<SecretRequestView> {
    const entry = this.#entries.get(id);
    if (entry === undefined) {
      throw new CofferError('REQUEST_NOT_FOUND', 'no such secret request in this server');
    }
    await this.#expire(entry);
    return { ...entry.view };
  }

  /** Resolves when the request is stored, declined, expired or failed, or `signal` aborts. */
  async wait(id: string, signal?: AbortSignal): Promise<SecretRequestView> {
    const entry = this.#entries.get(id);
    if (entry === undefined) return this.status(id);
    if (!done(entry.view.status)) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(0, entry.expires - this.#now()) + 50);
        timer.unref?.();
        const finish = () => {
          clearTimeout(timer);
          resolve();
        };
        entry.waiters.push(finish);
        signal?.addEventListener('abort', finish, { once: true });
      });
    }
    return this.status(id);
  }

  /**
   * Audits a refused use of the page of `token` (refused: `request ${id}: ${reason}`), whatever
   * state its request is in; a token of no request is refused unaudited (nothing to name).
   */
  async refusePage(token: string, reason: string): Promise<void> {
    const hash = hashToken(token);
    for (const entry of this.#entries.values()) {
      if (timingSafeEqual(entry.tokenHash, hash)) {
        await this.#deps.refused?.({ ...entry.view }, `request ${entry.view.id}: ${reason}`);
        return;
      }
    }
  }

  /**
   * Throws REQUEST_NOT_FOUND when `token` is no request's page token, REQUEST_CLOSED when its
   * request no longer takes an answer; no change (but an expiry, audited). For the page's
   * budget of links that name no request (link-guesses.ts).
   */
  async checkLink(token: string): Promise<void> {
    await this.#byToken(token);
  }

  /** The request a page token belongs to, if it still works; marks it opened (audited once). */
  async open(token: string): Promise<SecretRequestView> {
    const entry = await this.#byToken(token);
    if (entry.view.status === 'pending') {
      entry.view.status = 'opened';
      await this.#deps.audit({ ...entry.view }, 'opened', `request ${entry.view.id}`);
    }
    return { ...entry.view };
  }

  /** The requests still waiting for a value (pending or opened), as RequestInbox says (none forged). */
  async waiting(
    visible?: (r: SecretRequestView) => boolean,
  ): Promise<{ requests: SecretRequestView[]; more: number; unverifiable: number }> {
    const requests: SecretRequestView[] = [];
    for (const entry of this.#entries.values()) {
      await this.#expire(entry);
      if (!entry.used && !done(entry.view.status)) requests.push({ ...entry.view });
    }
    return { ...newestWaiting(requests, visible), unverifiable: 0 };
  }

  /** The user's value: stored through `store`; the token is spent first. */
  async submit(token: string, value: string): Promise<SecretRequestView> {
    const entry = await this.#byToken(token);
    // A value the vault would refuse (too large, a NUL) leaves the link usable for another try.
    assertAnswerValue(value);
    return this.#submit(entry, value, this.#deps.store);
  }

  /**
   * The value given by a signed-in user of another front end (the web UI) for request `id`:
   * stored as that user through `vault`, once, like `submit`.
   */
  async answer(id: string, value: string, vault: AnsweringVault): Promise<SecretRequestView> {
    const entry = await this.#open(id);
    assertAnswerValue(value); // refused before the request is spent, as by its page
    return this.#submit(entry, value, (request, v) => storeAnswer(vault, request, v));
  }

  /** A signed-in user of another front end (the web UI) declines request `id`. */
  async declineById(id: string, by: string): Promise<SecretRequestView> {
    await this.#open(id);
    return this.decline({ id }, by);
  }

  /** The request's view if it exists (no audit, no expiry): for access checks. */
  async peek(id: string): Promise<SecretRequestView | undefined> {
    const entry = this.#entries.get(id);
    return entry === undefined ? undefined : { ...entry.view };
  }

  /** Request `id` if it still takes an answer (expiring it first, audited). */
  async #open(id: string): Promise<Entry> {
    const entry = this.#entries.get(id);
    if (entry === undefined) {
      throw new CofferError('REQUEST_NOT_FOUND', 'no such secret request in this server');
    }
    await this.#expire(entry);
    if (entry.used || done(entry.view.status)) {
      throw new CofferError('REQUEST_CLOSED', `the request is ${entry.view.status} already`);
    }
    return entry;
  }

  async #submit(
    entry: Entry,
    value: string,
    store: SecretRequestDeps['store'],
  ): Promise<SecretRequestView> {
    // Checked and spent in one synchronous step: two submissions that both passed the
    // check before either spent the request (in the same turn of the loop) store once.
    if (entry.used || done(entry.view.status)) {
      throw new CofferError('REQUEST_CLOSED', `the request is ${entry.view.status} already`);
    }
    // Expired since it was looked up (a value checked across an await): closed, as the
    // stored requests' spend does.
    if (this.#now() >= entry.expires) {
      await this.#expire(entry);
      throw new CofferError('REQUEST_CLOSED', 'the request has expired');
    }
    entry.used = true;
    try {
      const stored = await store({ ...entry.view }, value);
      entry.view.version = stored.version;
      if (stored.written !== undefined) entry.view.written = stored.written;
      if (stored.writeEnvError !== undefined) entry.view.writeEnvError = stored.writeEnvError;
      this.#finish(entry, 'stored');
      await this.#deps.audit(
        { ...entry.view },
        'stored',
        `request ${entry.view.id} version ${stored.version}`,
      );
    } catch (err) {
      const message = err instanceof CofferError ? err.message : 'storing failed';
      entry.view.error = message;
      this.#finish(entry, 'failed');
      await this.#deps
        .audit({ ...entry.view }, 'failed', `request ${entry.view.id}`)
        .catch(() => {});
      throw err;
    }
    return { ...entry.view };
  }

  /** The user (on the page) or the client (declining the elicitation) refuses. */
  async decline(ref: { token: string } | { id: string }, by: string): Promise<SecretRequestView> {
    const entry = 'token' in ref ? await this.#byToken(ref.token) : this.#entries.get(ref.id);
    if (entry === undefined) return this.status((ref as { id: string }).id);
    await this.#expire(entry);
    if (done(entry.view.status)) return { ...entry.view };
    // The user's value is being stored: that outcome stands, and is what the caller gets.
    if (entry.used) return this.wait(entry.view.id);
    entry.used = true;
    this.#finish(entry, 'declined');
    await this.#deps.audit({ ...entry.view }, 'declined', `request ${entry.view.id} by ${by}`);
    return { ...entry.view };
  }

  async #byToken(token: string): Promise<Entry> {
    // Not of a token's shape (what a page's URL held after `/r/`, whatever it is): none.
    if (!TOKEN.test(token)) throw linkNotValid();
    const hash = hashToken(token);
    let found: Entry | undefined;
    for (const entry of this.#entries.values()) {
      if (timingSafeEqual(entry.tokenHash, hash)) found = entry;
    }
    if (found === undefined) throw linkNotValid();
    await this.#expire(found);
    if (found.used || done(found.view.status)) {
      throw new CofferError(
        'REQUEST_CLOSED',
        found.view.status === 'expired'
          ? 'this link has expired'
          : `this link was already used (the request is ${found.view.status})`,
      );
    }
    return found;
  }

  async #expire(entry: Entry): Promise<void> {
    if (done(entry.view.status) || entry.used || this.#now() < entry.expires) return;
    this.#finish(entry, 'expired');
    await this.#deps.audit({ ...entry.view }, 'expired', `request ${entry.view.id}`);
  }

  #finish(entry: Entry, status: RequestStatus): void {
    entry.view.status = status;
    for (const w of entry.waiters.splice(0)) w();
  }
}
