/**
 * Secret requests of `coffer serve` (remote mode of request_secret): the same rules as
 * secret-requests.ts (a public id, a 256-bit single-use token kept as its SHA-256, a
 * 10-minute expiry, every outcome audited with the agent's identity, never a value), with
 * the state in the store instead of one process's memory, so that any `coffer serve` instance
 * on the same PostgreSQL database serves the page of a request another one created.
 *
 * - A request is one meta entry, `secret_request:<id>` = `{"v":1,"mac":MAC,"body":BODY}`,
 *   MAC = HMAC-SHA256(subkey `secret-requests`, "coffer/secret-request/v1" 0x00 || vault id
 *   || id 0x00 || BODY): without the master key nobody can forge or edit one (to point a
 *   token's write at another path, or swap in a token of their own). Every change is made in
 *   a write transaction with its audit record, so two instances never both spend a token.
 * - The request remembers the token (API token id) that created it and the origin its page
 *   lives at (`--public-url`, or the loopback address the agent reached: pageOrigin). A value is stored as the
 *   request's actor (`token:NAME@ADDRESS (mcp:CLIENT agent:ID)`), within the creating token's
 *   policy as it is when the value arrives: a token revoked, expired or narrowed since makes
 *   the request fail.
 * - The page's CSRF field is a random value of the request, compared in constant time.
 * - A signed-in user of the web UI may answer or decline a request by its id (RequestInbox):
 *   the value is stored as that user (the UI checks the session's policy), the request spent
 *   in the same way as by its page, so the link and the UI never both store.
 * - Records do not pile up: creating a request deletes, in its transaction, those finished
 *   more than a day ago and those left unanswered a day past their expiry. Each record has a
 *   deletion entry `secret_request_due:<when, ms, 15 digits>:<id>` (empty; moved when the
 *   request ends), and a new request reads at most PRUNE_BATCH of them, oldest first, and
 *   the records they name: never every record.
 * - A token may have MAX_OPEN_REQUESTS requests waiting (neither answered, declined nor
 *   expired), all tokens together MAX_OPEN_REQUESTS_TOTAL (secret-requests.ts: the rule of
 *   `coffer mcp`'s own registry); past that, RATE_LIMITED. A waiting request has an entry
 *   `secret_request_open:<id>` = `{"v":1,"mac":MAC,"body":{"tokenId","expiresAt"}}` (MAC as
 *   above, label "coffer/secret-request-open/v1"), deleted when it ends: counting them, and
 *   listing the waiting ones for the web UI, reads at most that many entries. Vaults with
 *   records from before these entries get them once, at the next request
 *   (`secret_request_index`).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { AccessPolicy, type Denier } from '../access/policy.js';
import { tokenPolicySpec, tokenUnusable } from '../access/tokens.js';
import { CofferError } from '../errors.js';
import type { Keyring } from '../keys/keyring.js';
import { isLoopback } from '../loopback.js';
import type { StorageTx } from '../store/storage.js';
import type { Vault } from '../store/vault.js';
import { assertAnswerValue } from './answer-value.js';
import {
  type AnsweringVault,
  assertOpenSlot,
  newestWaiting,
  REQUEST_TTL_MS,
  type RequestInbox,
  type RequestOutcome,
  type SecretRequestInput,
  type SecretRequestView,
  storeAnswer,
} from './secret-requests.js';

const LABEL = 'coffer/secret-request/v1';
const OPEN_LABEL = 'coffer/secret-request-open/v1';
const PREFIX = 'secret_request:';
const OPEN_PREFIX = 'secret_request_open:';
const DUE_PREFIX = 'secret_request_due:';
/** Set once the open and due entries of every record exist (records older than them had none). */
const INDEX_KEY = 'secret_request_index';
/** Deletion entries a new request reads at most (each names one record to read). */
export const PRUNE_BATCH = 50;
const DUE = /^secret_request_due:(\d{15}):(req_[0-9a-f]{24})$/;
/** How long a finished request's record is kept (and an unanswered one past its expiry). */
export const REQUEST_KEEP_MS: number = 24 * 60 * 60 * 1000;
const ID = /^req_[0-9a-f]{24}$/;
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

interface Body {
  view: SecretRequestView;
  tokenHash: string;
  csrf: string;
  /** The API token that created it (its id). */
  tokenId: string;
  /** Where its page is served: `https://coffer.example.com`. */
  origin: string;
  used: boolean;
  /** When it was stored, declined, expired or failed (records made before this have none). */
  endedAt?: string;
}

export interface StoredRequestInput extends SecretRequestInput {
  tokenId: string;
  origin: string;
}

/**
 * The origin a request's page is served at: the server's `--public-url` when it has one;
 * else the address the caller reached, if that is a loopback one. Off loopback, the Host
 * header is the caller's to choose, and a link built from it could send the user to any
 * host, so a server reached there needs `--public-url`.
 */
export function pageOrigin(publicOrigin: string | undefined, reached: URL): string {
  if (publicOrigin !== undefined) return publicOrigin;
  if (isLoopback(reached.hostname)) return reached.origin;
  throw new CofferError(
    'FORBIDDEN',
    'this server makes secret request links only with --public-url when it is reached off loopback',
    { hint: 'Start coffer serve with --public-url set to the address users open it at.' },
  );
}

const metaKey = (id: string) => `${PREFIX}${id}`;
const openKey = (id: string) => `${OPEN_PREFIX}${id}`;
const dueKey = (at: number, id: string) => `${DUE_PREFIX}${String(at).padStart(15, '0')}:${id}`;
const hashToken = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex');
const done = (s: SecretRequestView['status']) =>
  s === 'stored' || s === 'declined' || s === 'expired' || s === 'failed';

function mac(keyring: Keyring, id: string, body: string, label = LABEL): Buffer {
  return createHmac('sha256', keyring.subkey('secret-requests'))
    .update(`${label}\u0000`)
    .update(keyring.rowMacKey().vaultId)
    .update(`${id}\u0000`)
    .update(body)
    .digest();
}

function notFound(): CofferError {
  return new CofferError('REQUEST_NOT_FOUND', 'this link is not valid');
}

function closed(what: 'link' | 'request', b: Body): CofferError {
  const state = b.view.status === 'opened' ? 'being stored' : b.view.status;
  return new CofferError(
    'REQUEST_CLOSED',
    what === 'link'
      ? `this link was already used (the request is ${state})`
      : `this request was already answered (it is ${state})`,
  );
}

async function load(tx: StorageTx, keyring: Keyring, id: string): Promise<Body> {
  if (!ID.test(id)) throw notFound();
  const stored = await tx.getMeta(metaKey(id));
  if (stored === undefined) throw notFound();
  return parse(keyring, id, stored);
}

/** A stored request, its MAC checked (INTEGRITY_FAILURE when it was changed outside coffer). */
function parse(keyring: Keyring, id: string, stored: string): Body {
  return JSON.parse(verified(keyring, id, stored, LABEL)) as Body;
}

/** The body of a stored `{"v":1,"mac","body"}` entry, its MAC under `label` checked. */
function verified(keyring: Keyring, id: string, stored: string, label: string): string {
  let outer: { v?: unknown; mac?: unknown; body?: unknown };
  try {
    outer = JSON.parse(stored) as typeof outer;
  } catch {
    outer = {};
  }
  const want = typeof outer.body === 'string' ? mac(keyring, id, outer.body, label) : undefined;
  const got = typeof outer.mac === 'string' ? Buffer.from(outer.mac, 'hex') : Buffer.alloc(0);
  if (
    outer.v !== 1 ||
    want === undefined ||
    got.length !== want.length ||
    !timingSafeEqual(got, want)
  ) {
    throw new CofferError(
      'INTEGRITY_FAILURE',
      'a secret request of this vault fails its integrity check: it was changed outside coffer',
    );
  }
  return outer.body as string;
}

async function save(tx: StorageTx, keyring: Keyring, b: Body): Promise<void> {
  const body = JSON.stringify(b);
  await tx.setMeta(
    metaKey(b.view.id),
    JSON.stringify({ v: 1, mac: mac(keyring, b.view.id, body).toString('hex'), body }),
  );
}

/** When the record may be deleted: a day after it finished, or after it expired unanswered. */
function staleAt(b: Body): number {
  const ended = (done(b.view.status) ? b.endedAt : undefined) ?? b.view.expiresAt;
  return Date.parse(ended) + REQUEST_KEEP_MS;
}

/** Is the request still waiting for an answer at `now` (what the open-request cap counts)? */
const waitingAt = (b: Body, now: number) =>
  !b.used && !done(b.view.status) && now < Date.parse(b.view.expiresAt);

interface OpenEntry {
  tokenId: string;
  expiresAt: string;
}

async function saveOpen(tx: StorageTx, keyring: Keyring, b: Body): Promise<void> {
  const body = JSON.stringify({ tokenId: b.tokenId, expiresAt: b.view.expiresAt });
  await tx.setMeta(
    openKey(b.view.id),
    JSON.stringify({ v: 1, mac: mac(keyring, b.view.id, body, OPEN_LABEL).toString('hex'), body }),
  );
}

/**
 * The entries of the requests still waiting at `now` (verified), by id; `bad` gets the keys of
 * entries that fail their check. At most MAX_OPEN_REQUESTS_TOTAL exist: one is written only
 * below the cap, and deleted when its request ends.
 */
async function openEntries(
  tx: StorageTx,
  keyring: Keyring,
  now: number,
  bad: string[] = [],
): Promise<{ live: Map<string, OpenEntry>; expired: string[] }> {
  const live = new Map<string, OpenEntry>();
  const expired: string[] = [];
  for (const { key, value } of await tx.listMeta(OPEN_PREFIX)) {
    const id = key.slice(OPEN_PREFIX.length);
    let e: OpenEntry;
    try {
      e = JSON.parse(verified(keyring, id, value, OPEN_LABEL)) as OpenEntry;
    } catch {
      bad.push(key);
      continue;
    }
    if (now < Date.parse(e.expiresAt)) live.set(id, e);
    else expired.push(key);
  }
  return { live, expired };
}

/**
 * Writes the open and due entries of records stored before they existed: once per vault,
 * reading every record this one time. Unverifiable records get none (they are kept).
 */
async function indexOnce(tx: StorageTx, keyring: Keyring, now: number): Promise<void> {
  if ((await tx.getMeta(INDEX_KEY)) !== undefined) return;
  for (const { key, value } of await tx.listMeta(PREFIX)) {
    const id = key.slice(PREFIX.length);
    let b: Body;
    try {
      b = parse(keyring, id, value);
    } catch {
      continue;
    }
    await tx.setMeta(dueKey(staleAt(b), id), '');
    if (waitingAt(b, now)) await saveOpen(tx, keyring, b);
  }
  await tx.setMeta(INDEX_KEY, '1');
}

/**
 * Deletes stale request records (see `staleAt`) through their due entries, oldest first, at
 * most PRUNE_BATCH of them; how many. Unverifiable records are kept (their entry goes).
 */
async function prune(tx: StorageTx, keyring: Keyring, now: number): Promise<number> {
  let pruned = 0;
  for (const { key } of await tx.listMeta(DUE_PREFIX, PRUNE_BATCH)) {
    const m = DUE.exec(key);
    if (m !== null && Number(m[1]) > now) break;
    await tx.deleteMeta(key);
    if (m === null) continue;
    const id = m[2]!;
    const stored = await tx.getMeta(metaKey(id));
    if (stored === undefined) continue;
    let b: Body;
    try {
      b = parse(keyring, id, stored);
    } catch {
      continue;
    }
    const at = staleAt(b);
    if (now < at) {
      await tx.setMeta(dueKey(at, id), '');
      continue;
    }
    await tx.deleteMeta(metaKey(id));
    await tx.deleteMeta(openKey(id));
    pruned++;
  }
  return pruned;
}

/** The page and its form, as the server shows them. */
export interface RequestPageView {
  request: SecretRequestView;
  csrf: string;
  origin: string;
}

/** The requests of a vault, shared by every server on it. `now` is injectable for tests. */
export class StoredSecretRequests implements RequestInbox {
  readonly #vault: Vault;
  readonly #now: () => number;

  constructor(vault: Vault, now: () => number = Date.now) {
    this.#vault = vault;
    this.#now = now;
  }

  /** One audited change of request `id` (action `request_<outcome>`, as its actor). */
  async #change<T>(
    id: string,
    outcome: RequestOutcome | 'created',
    fn: (
      b: Body,
      tx: StorageTx,
      keyring: Keyring,
    ) => { result: T; detail: string } | Promise<{ result: T; detail: string }>,
    initial?: Body,
  ): Promise<T> {
    // The actor and target are the request's: read first (an unknown id is refused
    // unaudited); the change itself reads it again in its write transaction.
    const view =
      initial?.view ??
      (await this.#vault.readTransaction((tx, keyring) => load(tx, keyring, id))).view;
    return this.#vault.withActor(view.actor).auditedTransaction(
      `request_${outcome}`,
      async (tx, keyring) => {
        const b = initial ?? (await load(tx, keyring, id));
        const { result, detail } = await fn(b, tx, keyring);
        if (done(b.view.status) && b.endedAt === undefined) {
          const before = staleAt(b);
          // An expired request ended at its expiry, whenever that was noticed.
          b.endedAt =
            b.view.status === 'expired' ? b.view.expiresAt : new Date(this.#now()).toISOString();
          // Its record is deleted a day after it ended now, not a day after its expiry.
          await tx.deleteMeta(dueKey(before, id));
          await tx.setMeta(dueKey(staleAt(b), id), '');
        }
        // Spent or ended: no longer waiting, so no longer counted against the cap.
        if (b.used || done(b.view.status)) await tx.deleteMeta(openKey(id));
        await save(tx, keyring, b);
        return { result, detail };
      },
      { path: view.path, env: view.env },
    );
  }

  /**
   * Opens a request (audited `request_created`); the token is shown once, in its URL. Refused
   * with RATE_LIMITED (audited) when its token, or all tokens together, have the most requests
   * waiting that they may (assertOpenSlot). Stale records of other requests are deleted in the
   * same transaction, a bounded batch at a time.
   */
  async create(input: StoredRequestInput): Promise<{ request: SecretRequestView; url: string }> {
    const now = this.#now();
    const id = `req_${randomBytes(12).toString('hex')}`;
    const token = randomBytes(32).toString('base64url');
    const { tokenId, origin, ...rest } = input;
    const view: SecretRequestView = {
      ...rest,
      id,
      status: 'pending',
      createdAt: new Date(now).toISOString(),
      expiresAt: new Date(now + REQUEST_TTL_MS).toISOString(),
    };
    const body: Body = {
      view,
      tokenHash: hashToken(token),
      csrf: randomBytes(32).toString('base64url'),
      tokenId,
      origin,
      used: false,
    };
    await this.#change(
      id,
      'created',
      async (b, tx, keyring) => {
        await indexOnce(tx, keyring, now);
        const { live, expired } = await openEntries(tx, keyring, now);
        // Expired ones no longer count (their records are marked expired when next read).
        for (const key of expired) await tx.deleteMeta(key);
        let mine = 0;
        for (const e of live.values()) if (e.tokenId === tokenId) mine++;
        assertOpenSlot(mine, live.size);
        const pruned = await prune(tx, keyring, now);
        await saveOpen(tx, keyring, b);
        await tx.setMeta(dueKey(staleAt(b), id), '');
        const old = pruned === 0 ? '' : `; deleted ${pruned} old request record(s)`;
        return { result: undefined, detail: `request ${id}${old}` };
      },
      body,
    );
    return { request: { ...view }, url: `${origin}/r/${id}/${token}` };
  }

  /**
   * The request's view (an expired one is marked so, audited once); for its creator. Another
   * token's request is answered as one that does not exist, and the refusal is audited
   * through `deny` (as the asking token).
   */
  async status(id: string, tokenId: string, deny?: Denier): Promise<SecretRequestView> {
    const b = await this.#vault.readTransaction((tx, keyring) => load(tx, keyring, id));
    if (b.tokenId !== tokenId) {
      await deny?.('request_status', {}, `request ${id.slice(0, 40)} belongs to another token`);
      throw new CofferError('REQUEST_NOT_FOUND', 'no such secret request for this token');
    }
    if (!done(b.view.status) && !b.used && this.#now() >= Date.parse(b.view.expiresAt)) {
      return this.#change(id, 'expired', (x) => {
        if (!done(x.view.status) && !x.used) x.view.status = 'expired';
        return { result: { ...x.view }, detail: `request ${id}` };
      });
    }
    return { ...b.view };
  }

  /** The creator (the agent's client declining the elicitation) refuses. */
  async decline(
    id: string,
    tokenId: string,
    by: string,
    deny?: Denier,
  ): Promise<SecretRequestView> {
    const b = await this.status(id, tokenId, deny);
    if (done(b.status)) return b;
    return this.#change(id, 'declined', (x) => {
      if (done(x.view.status) || x.used) return { result: { ...x.view }, detail: `request ${id}` };
      x.used = true;
      x.view.status = 'declined';
      return { result: { ...x.view }, detail: `request ${id} by ${by}` };
    });
  }

  /** Checks a page token; the state it is in (no change). Throws for a spent or bad link. */
  async #byToken(id: string, token: string): Promise<Body> {
    if (!TOKEN.test(token)) throw notFound();
    const b = await this.#vault.readTransaction((tx, keyring) => load(tx, keyring, id));
    const want = Buffer.from(b.tokenHash, 'hex');
    if (!timingSafeEqual(want, Buffer.from(hashToken(token), 'hex'))) throw notFound();
    return b;
  }

  /**
   * Throws REQUEST_CLOSED when the request no longer takes an answer, by its link or in the
   * web UI (`what`), expiring it first (audited).
   */
  async #usable(b: Body, id: string, what: 'link' | 'request' = 'link'): Promise<void> {
    const expired = () => new CofferError('REQUEST_CLOSED', `this ${what} has expired`);
    if (!done(b.view.status) && !b.used && this.#now() >= Date.parse(b.view.expiresAt)) {
      await this.#change(id, 'expired', (x) => {
        if (!done(x.view.status) && !x.used) x.view.status = 'expired';
        return { result: undefined, detail: `request ${id}` };
      });
      throw expired();
    }
    if (b.used || done(b.view.status)) {
      throw b.view.status === 'expired' ? expired() : closed(what, b);
    }
  }

  /** Where a link's page is served and what it shows, without any change; throws for a bad link. */
  async peekLink(
    id: string,
    token: string,
  ): Promise<{ origin: string; request: SecretRequestView }> {
    const b = await this.#byToken(id, token);
    return { origin: b.origin, request: { ...b.view } };
  }

  /**
   * Audits a refused use of a link's page (a wrong Host, a form from another origin or
   * without the request's CSRF field): `request_page`, denied, as the request's actor, on its
   * key path and environment, `reason` in the detail. Never the link's token nor anything
   * the form held. A link that is not valid is refused unaudited, as elsewhere.
   */
  async refusePage(id: string, token: string, reason: string): Promise<void> {
    const b = await this.#byToken(id, token);
    await this.#vault
      .withActor(b.view.actor)
      .recordDenied(
        'request_page',
        { path: b.view.path, env: b.view.env },
        `request ${id}: ${reason}`,
      );
  }

  /** The page for a link (marks the request opened the first time, audited). */
  async open(id: string, token: string): Promise<RequestPageView> {
    const b = await this.#byToken(id, token);
    await this.#usable(b, id);
    if (b.view.status === 'pending') {
      b.view.status = 'opened';
      await this.#change(id, 'opened', (x) => {
        if (x.view.status === 'pending') x.view.status = 'opened';
        return { result: undefined, detail: `request ${id}` };
      });
    }
    return { request: { ...b.view }, csrf: b.csrf, origin: b.origin };
  }

  /** Does `csrf` match the request's form field (constant time)? */
  async csrfMatches(id: string, token: string, csrf: string): Promise<boolean> {
    const b = await this.#byToken(id, token);
    const a = Buffer.from(b.csrf);
    const c = Buffer.from(csrf);
    return a.length === c.length && timingSafeEqual(a, c);
  }

  /** The user declines on the page. */
  async declineByToken(id: string, token: string): Promise<SecretRequestView> {
    const b = await this.#byToken(id, token);
    await this.#usable(b, id);
    return this.#change(id, 'declined', (x) => {
      if (x.used || done(x.view.status))
        throw new CofferError('REQUEST_CLOSED', 'this link was already used');
      x.used = true;
      x.view.status = 'declined';
      return { result: { ...x.view }, detail: `request ${id} by the user` };
    });
  }

  /**
   * The requests still waiting for a value (not spent, not expired), as RequestInbox says:
   * read through their open entries (at most MAX_OPEN_REQUESTS_TOTAL), never every record. A
   * record or entry changed outside coffer is left out, audited (`request_list`,
   * integrity_failure) and counted in `unverifiable`: one forged record does not hide the
   * others.
   */
  async waiting(
    visible?: (r: SecretRequestView) => boolean,
  ): Promise<{ requests: SecretRequestView[]; more: number; unverifiable: number }> {
    const now = this.#now();
    const bad: string[] = [];
    const all = await this.#vault.readTransaction(async (tx, keyring) => {
      const bodies: Body[] = [];
      const add = (id: string, stored: string) => {
        try {
          bodies.push(parse(keyring, id, stored));
        } catch {
          bad.push(metaKey(id));
        }
      };
      if ((await tx.getMeta(INDEX_KEY)) === undefined) {
        // Records from before the open entries, until the next request writes them.
        for (const m of await tx.listMeta(PREFIX)) add(m.key.slice(PREFIX.length), m.value);
        return bodies;
      }
      for (const id of (await openEntries(tx, keyring, now, bad)).live.keys()) {
        const stored = await tx.getMeta(metaKey(id));
        if (stored !== undefined) add(id, stored);
      }
      return bodies;
    });
    await this.#vault.recordSkipped('request_list', bad);
    const requests = all.filter((b) => waitingAt(b, now)).map((b) => ({ ...b.view }));
    return { ...newestWaiting(requests, visible), unverifiable: bad.length };
  }

  /** Request `id`'s view (no change, no audit), or undefined when there is none. */
  async peek(id: string): Promise<SecretRequestView | undefined> {
    try {
      const b = await this.#vault.readTransaction((tx, keyring) => load(tx, keyring, id));
      return { ...b.view };
    } catch (err) {
      if (err instanceof CofferError && err.code === 'REQUEST_NOT_FOUND') return undefined;
      throw err;
    }
  }

  /**
   * A signed-in user's value for request `id` (the web UI, which checked the user's policy):
   * the request is spent first, as by its page (one transaction: the link, the UI and another
   * instance never both store), then the value is stored as `vault`'s actor, then the outcome
   * is recorded. Throws REQUEST_CLOSED when it was answered, declined or expired before.
   */
  async answer(id: string, value: string, vault: AnsweringVault): Promise<SecretRequestView> {
    const b = await this.#vault.readTransaction((tx, keyring) => load(tx, keyring, id));
    await this.#usable(b, id, 'request');
    assertAnswerValue(value); // refused before the request is spent, as by its page
    await this.#spend(id, 'request', `request ${id} answered by ${vault.actor}`);
    return this.#store(id, () => storeAnswer(vault, b.view, value));
  }

  /** A signed-in user (`by`, the web UI) declines request `id`; REQUEST_CLOSED when over. */
  async declineById(id: string, by: string): Promise<SecretRequestView> {
    const b = await this.#vault.readTransaction((tx, keyring) => load(tx, keyring, id));
    await this.#usable(b, id, 'request');
    return this.#change(id, 'declined', (x) => {
      if (x.used || done(x.view.status)) throw closed('request', x);
      x.used = true;
      x.view.status = 'declined';
      return { result: { ...x.view }, detail: `request ${id} by ${by}` };
    });
  }

  /** Spends request `id` (audited `request_opened`); REQUEST_CLOSED when it was spent before. */
  async #spend(id: string, by: 'link' | 'request', detail: string): Promise<void> {
    await this.#change(id, 'opened', (x) => {
      if (x.used || done(x.view.status)) throw closed(by, x);
      // Expiry is checked again where the request is spent: the check before (#usable) may
      // have passed just before it expired, and the write lock may be waited for. Nothing is
      // changed: the next look at the request marks it expired.
      if (this.#now() >= Date.parse(x.view.expiresAt)) {
        throw new CofferError('REQUEST_CLOSED', `this ${by} has expired`);
      }
      x.used = true;
      x.view.status = 'opened';
      return { result: undefined, detail };
    });
  }

  /** Stores the value of spent request `id` with `store`, then records stored or failed. */
  async #store(id: string, store: () => Promise<{ version: number }>): Promise<SecretRequestView> {
    try {
      const stored = await store();
      return await this.#change(id, 'stored', (x) => {
        x.view.status = 'stored';
        x.view.version = stored.version;
        return { result: { ...x.view }, detail: `request ${id} version ${stored.version}` };
      });
    } catch (err) {
      const message = err instanceof CofferError ? err.message : 'storing failed';
      await this.#change(id, 'failed', (x) => {
        x.view.status = 'failed';
        x.view.error = message;
        return { result: undefined, detail: `request ${id}` };
      }).catch(() => {});
      throw err;
    }
  }

  /**
   * The user's value: the token is spent first (one transaction: two instances never both
   * take it), then the value is stored as the request's actor within the creating token's
   * current policy, then the outcome is recorded. The value is never kept here.
   */
  async submit(id: string, token: string, value: string): Promise<SecretRequestView> {
    const b = await this.#byToken(id, token);
    await this.#usable(b, id);
    // A value the vault would refuse (too large, a NUL) leaves the link usable for another try.
    assertAnswerValue(value);
    await this.#spend(id, 'link', `request ${id} submitted`);
    const { path, env, description, actor } = b.view;
    return this.#store(id, async () => {
      const record = await this.#vault.readTransaction((tx) => tx.getToken(b.tokenId));
      const reason =
        record === undefined
          ? 'the token that asked no longer exists'
          : (tokenUnusable(record, new Date(this.#now())) ??
            new AccessPolicy(tokenPolicySpec(record)).refusal('write', { path, env }));
      if (reason !== undefined) {
        throw new CofferError(
          'FORBIDDEN',
          `the token that asked may not store this value now: ${reason}`,
        );
      }
      const stored = await this.#vault.withActor(actor).set(path, env, value, { description });
      return { version: stored.version };
    });
  }
}
