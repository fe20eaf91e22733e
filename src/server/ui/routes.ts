/**
 * The web UI of `coffer serve`, at `/` beside the API (`/v1`): server-rendered pages
 * (views.tsx) over the same core calls as the API. Every page and change asks
 * core/access's `authorize` with the session's policy (a refusal is audited there and
 * shown as a 403 page); every read and write goes through the vault acting as the
 * session's token (`token:NAME@ADDRESS`), so the audit log names it as for the API.
 *
 * Security: a session cookie (HttpOnly, SameSite=Strict, Secure under TLS, expiring); every
 * change is a POST that must come from this origin (Origin / Sec-Fetch-Site) and carry the
 * session's CSRF token; every answer has a strict CSP (no inline script or style), no
 * framing, no opener or cross-origin use (COOP, CORP) and `Cache-Control: no-store`. No value is in any page: the script fetches one on
 * a click on Reveal (POST, audited as a `get`). Logins by token, and the token of a session
 * on every request, go through the API's own check (token-gate.ts): the same
 * failed-authentication limit and audit as the API's bearer tokens.
 */
import type { Context, Hono, MiddlewareHandler } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import {
  type AuditNewestPage,
  mayReadChain,
  readAuditNewestWithin,
} from '../../core/access/audit-access.js';
import {
  type AccessPolicy,
  authorize,
  type Denier,
  refuse,
  type Target,
} from '../../core/access/policy.js';
import { createToken, listTokens, revokeToken } from '../../core/access/tokens.js';
import { authorizeValueReferences } from '../../core/access/value-references.js';
import type { AuditChainCheck } from '../../core/audit/chain-check.js';
import { LastReads } from '../../core/audit/last-reads.js';
import { projectOverview, sortEnvironments } from '../../core/environments/overview.js';
import { SameValueCheck } from '../../core/environments/same-value.js';
import { CofferError } from '../../core/errors.js';
import { parseEnvironment, parseKeyPath, parsePathPrefix } from '../../core/paths.js';
import { textAreaValue } from '../../core/requests/page.js';
import type { RequestInbox } from '../../core/requests/secret-requests.js';
import { finishRotation, rotateUnderPolicy } from '../../core/rotation/rotate.js';
import { localSecretsService } from '../../core/service/local-service.js';
import type { SecretInfo, Vault } from '../../core/store/vault.js';
import type { TokenAuthenticator } from '../auth.js';
import type { AppEnv } from '../context.js';
import { errorResponse, shownMessage } from '../error-response.js';
import { errorFields, type Logger } from '../logger.js';
import type { TokenGate } from '../token-gate.js';
import { uiAsset } from './assets.js';
import { ManifestFiles } from './manifests.js';
import { type Form, field, html, readForm } from './respond.js';
import { type Session, type SessionOwner, SessionStore } from './session.js';
import {
  type AuditFilters,
  AuditPage,
  type ChainView,
  documentOf,
  ErrorPage,
  LoggedInPage,
  LoginPage,
  type OlderRecords,
  ProjectPage,
  type ProjectSummary,
  ProjectsPage,
  RotationPage,
  SecretPage,
  type SecretView,
  TokensPage,
  type Viewer,
} from './views.js';
import { workRoutes } from './work-routes.js';

/** How long a revealed value stays on screen. */
export const REVEAL_MS = 30_000;

export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
  "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export interface UiOptions {
  /** Where sessions and login links live (default: a new store; `coffer ui` passes its own). */
  sessions?: SessionStore | undefined;
  /** How long a revealed value stays shown, in ms (default 30 s; tests shorten it). */
  revealMs?: number | undefined;
  /** Manifest files (coffer.yaml) whose status the project pages show. */
  manifests?: readonly string[] | undefined;
  /**
   * Agents' request_secret requests made in this process (an MCP server beside the UI),
   * listed and answered instead of the store's (app.ts).
   */
  requests?: RequestInbox | undefined;
}

export interface UiDeps {
  app: Hono<AppEnv>;
  vault: Vault;
  authenticator: TokenAuthenticator;
  /** The API's rate limit and token check, shared with the login form. */
  gate: TokenGate;
  logger: Logger;
  bodyLimit: MiddlewareHandler<AppEnv>;
  now: () => Date;
  /** The audit chain's check, shared with the API (one walk of the log at a time). */
  chainCheck: AuditChainCheck;
  /** Agents' requests the UI lists and answers. */
  requests: RequestInbox;
  options: UiOptions;
  /** The server's public URL (`coffer serve --public-url`), where TLS may end at a proxy. */
  publicUrl?: string | undefined;
}

const COOKIE = 'coffer_session';
/** Audit records of one secret shown on its page. */
const SECRET_AUDIT = 20;
/**
 * Audit records per page of the audit log (newest first, then "older"). A page reads a
 * bounded part of the log, as the API's does (core/access/audit-access.ts).
 */
const AUDIT_PAGE = 100;

/** What the routes know about the caller of a request with a valid session. */
export interface Who {
  session: Session;
  policy: AccessPolicy;
  vault: Vault;
  deny: Denier;
  viewer: Viewer;
}

function isUiPath(path: string): boolean {
  return !(path === '/healthz' || path === '/v1' || path.startsWith('/v1/'));
}

export type PageFn = (c: Context<AppEnv>, w: Who) => Promise<Response>;
export type ChangeFn = (c: Context<AppEnv>, w: Who, form: Form) => Promise<Response>;

/** Environments in their usual order (dev, staging, prod), then the others by name. */
export const sortEnvs: (envs: Iterable<string>) => string[] = sortEnvironments;

/**
 * Did this request come from a page of this server (not another site's form or script)? Its
 * Origin is the host it was asked for or, with `--public-url`, that URL's origin: a proxy in
 * front may rewrite Host to its upstream's address while the browser's Origin names the
 * public one.
 */
export function sameOrigin(c: Context<AppEnv>, publicUrl?: string): boolean {
  const site = c.req.header('sec-fetch-site');
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return false;
  const origin = c.req.header('origin');
  if (origin === undefined) return true;
  try {
    const from = new URL(origin);
    if (publicUrl !== undefined && from.origin === new URL(publicUrl).origin) return true;
    return from.host === (c.req.header('host') ?? new URL(c.req.url).host);
  } catch {
    return false;
  }
}

/** A text area's field, its line breaks as typed (see textAreaValue). */
function textArea(form: Form, name: string): string | undefined {
  const v = field(form, name);
  return v === undefined ? undefined : textAreaValue(v);
}

function fieldList(form: Form, name: string): string[] {
  const v = form[name];
  return (Array.isArray(v) ? v : typeof v === 'string' ? [v] : []).filter(
    (x) => typeof x === 'string',
  );
}

function words(text: string | undefined): string[] {
  return (text ?? '').split(/[\s,]+/).filter((w) => w !== '');
}

/**
 * The security headers of every web UI answer (not the API's): registered before every route
 * (app.ts), so that the log's route template stays the matched route's.
 */
export const uiHeaders: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (!isUiPath(c.req.path)) return next();
  // Set before the handler runs, so that every answer made through the context carries them:
  // a header set on a finished answer makes hono rebuild it around its body as a stream
  // (several ms for a 300 KB project page).
  c.header('Content-Security-Policy', CONTENT_SECURITY_POLICY);
  c.header('X-Frame-Options', 'DENY');
  c.header('X-Content-Type-Options', 'nosniff');
  // same-origin, not no-referrer: under no-referrer a browser sends `Origin: null` with a form
  // post, and the origin check below needs the real one.
  c.header('Referrer-Policy', 'same-origin');
  // As the request pages (core/requests/page.ts): a page of another site that opened the UI
  // (window.open) keeps no handle on its window, so cannot send it on to a look-alike login
  // page later; and no page of another origin loads an answer as a resource of its own (a
  // page of another port of the same host is same-site: the SameSite cookie goes along).
  c.header('Cross-Origin-Opener-Policy', 'same-origin');
  c.header('Cross-Origin-Resource-Policy', 'same-origin');
  // Cache-Control: no-store is the app's, for every answer (app.ts noStore).
  await next();
};

export function uiRoutes(deps: UiDeps): void {
  const { app, vault, authenticator, gate, logger, now } = deps;
  const sessions = deps.options.sessions ?? new SessionStore();
  const revealMs = deps.options.revealMs ?? REVEAL_MS;
  const lastReads = new LastReads();
  const sameValues = new SameValueCheck();
  const manifests = new ManifestFiles(deps.options.manifests ?? []);
  const manifestFor = (prefix: string) => manifests.forProject(prefix);

  // Behind a proxy that ends TLS the request itself is plain HTTP: a public https URL says
  // the browser's side is not.
  const publicHttps = deps.publicUrl?.startsWith('https:') === true;
  const secure = (c: Context<AppEnv>) => publicHttps || new URL(c.req.url).protocol === 'https:';

  const startSession = (c: Context<AppEnv>, owner: SessionOwner): Session => {
    const session = sessions.create(owner);
    setCookie(c, COOKIE, session.id, {
      httpOnly: true,
      sameSite: 'Strict',
      secure: secure(c),
      path: '/',
      maxAge: Math.floor(sessions.ttlMs / 1000),
    });
    return session;
  };

  const denier =
    (actor: string, requestId: string): Denier =>
    async (action, target, reason) => {
      try {
        await vault.withActor(actor).recordDenied(action, target, reason);
      } catch (err) {
        logger.error({ reqId: requestId, ...errorFields(err) }, 'a refusal could not be audited');
      }
    };

  /** Writes an `ok` record of a session event (ui_login, ui_logout) as `actor`. */
  const recordEvent = async (actor: string, action: string): Promise<void> => {
    await vault.withActor(actor).auditedTransaction(action, async () => ({ result: undefined }));
  };

  /** The caller of a request: its session and what its policy allows, or undefined. */
  const who = async (c: Context<AppEnv>): Promise<Who | undefined> => {
    const session = sessions.get(getCookie(c, COOKIE));
    if (session === undefined) return undefined;
    const address = c.get('address');
    let policy: AccessPolicy;
    let actor: string;
    let name: string;
    if (session.owner.kind === 'token') {
      // The API's check of a bearer token (token-gate.ts), so that a session's token is
      // refused as the same token would be on the API: counted against the address's failure
      // budget and audited (authenticate, denied, the reason, token:NAME@ADDRESS).
      const checked = await gate.check(session.owner.header, address);
      if ('failure' in checked) {
        // Revoked or expired since the login: the token's sessions end with it.
        sessions.deleteOwner(session.owner);
        return undefined;
      }
      // A limited address whose token could not be checked now: not logged in this time.
      if ('retryAfter' in checked) return undefined;
      const result = checked.policy;
      policy = result;
      name = result.name;
      actor = `token:${result.name}@${address}`;
    } else {
      policy = session.owner.policy;
      name = session.owner.actor;
      actor = `${session.owner.actor}@${address}`;
    }
    return {
      session,
      policy,
      vault: vault.withActor(actor),
      deny: denier(actor, c.get('requestId')),
      viewer: {
        name,
        csrf: session.csrf,
        admin: policy.can('admin'),
        answersRequests: policy.refusal('write') === undefined,
      },
    };
  };

  const errorPage = async (
    c: Context<AppEnv>,
    err: unknown,
    viewer: Viewer | undefined,
  ): Promise<Response> => {
    const { status, body, known } = errorResponse(err, c.get('requestId') ?? 'none');
    if (!known) logger.error({ reqId: c.get('requestId'), ...errorFields(err) }, 'ui error');
    // The request's log line then carries its code (and a store failure's detail).
    if (err instanceof Error) c.error = err;
    const title =
      status === 403
        ? 'Not allowed'
        : status === 404
          ? 'Not found'
          : status === 409
            ? 'Conflict'
            : status === 429
              ? 'Too many attempts'
              : 'Error';
    return html(c, await documentOf(ErrorPage({ viewer, title, message: body.message })), status);
  };

  /** A page that needs a session; without one, the login page. */
  const page =
    (fn: PageFn) =>
    async (c: Context<AppEnv>): Promise<Response> => {
      const w = await who(c);
      if (w === undefined) return c.redirect('/login', 303);
      try {
        return await fn(c, w);
      } catch (err) {
        return errorPage(c, err, w.viewer);
      }
    };

  /** A change: same origin, a session, the session's CSRF token; refusals audited. */
  const change =
    (action: string, fn: ChangeFn, json = false) =>
    async (c: Context<AppEnv>): Promise<Response> => {
      const w = await who(c);
      const fail = async (err: unknown) => {
        if (!json) return errorPage(c, err, w?.viewer);
        const { status, body } = errorResponse(err, c.get('requestId') ?? 'none');
        return c.json(body, status as 403);
      };
      // A refused change is audited with the secret it aimed at, when its route names one,
      // so that an admin of that key path sees it.
      const aimed = (): Target => {
        const { scope, group, name } = c.req.param() as Record<string, string | undefined>;
        if (scope === undefined || group === undefined || name === undefined) return {};
        try {
          return secretTarget(c, c.req.query('env'));
        } catch {
          return {};
        }
      };
      try {
        if (!sameOrigin(c, deps.publicUrl)) {
          await denier(
            w === undefined ? `unauthenticated@${c.get('address')}` : w.vault.actor,
            c.get('requestId'),
          )(action, aimed(), 'cross-origin request');
          throw new CofferError('FORBIDDEN', 'a change must come from a page of this server');
        }
        if (w === undefined) {
          if (json) throw new CofferError('UNAUTHENTICATED', 'the session ended; log in again');
          return c.redirect('/login', 303);
        }
        const form = await readForm(c);
        const sent = c.req.header('x-csrf-token') ?? field(form, '_csrf');
        if (!sessions.csrfValid(w.session, sent)) {
          await refuse(w.policy, action, aimed(), 'missing or wrong CSRF token', w.deny);
        }
        return await fn(c, w, form);
      } catch (err) {
        return fail(err);
      }
    };

  /** The key path and environment of a `/s/:scope/:group/:name?env=E` request. */
  const secretTarget = (c: Context<AppEnv>, env: string | undefined) => {
    const { scope, group, name } = c.req.param() as Record<string, string>;
    return {
      path: parseKeyPath(`${scope}/${group}/${name}`).path,
      env: parseEnvironment(env ?? 'dev'),
    };
  };

  const visible = (policy: AccessPolicy, s: Pick<SecretInfo, 'path' | 'env'>) =>
    policy.allowsPath(s.path) && policy.allowsEnv(s.env);
  /** The listing bound of a session: passed to vault.list, so its audit count is bounded too. */
  const within = (policy: AccessPolicy) => (path: string, env: string) =>
    visible(policy, { path, env });

  // ---- static files and login ----

  app.get('/ui/:file', (c) => {
    const asset = uiAsset(c.req.param('file'));
    if (asset === undefined) return c.text('not found', 404);
    return c.body(asset.body, 200, { 'content-type': asset.type });
  });

  app.get('/login', async (c) => {
    if ((await who(c)) !== undefined) return c.redirect('/', 303);
    return html(c, await documentOf(LoginPage({})));
  });

  app.post('/login', deps.bodyLimit, async (c) => {
    const address = c.get('address');
    if (!sameOrigin(c, deps.publicUrl)) {
      await denier(`unauthenticated@${address}`, c.get('requestId'))(
        'ui_login',
        {},
        'cross-origin request',
      );
      return html(c, await documentOf(LoginPage({ error: 'Log in from this page.' })), 403);
    }
    const form = await readForm(c);
    const token = (field(form, 'token') ?? '').trim();
    const header = `Bearer ${token}`;
    // As the API does: a limited address still logs in with a valid token.
    const checked = await gate.check(token === '' ? undefined : header, address);
    if ('retryAfter' in checked) {
      c.header('Retry-After', String(checked.retryAfter));
      const error = `Too many failed logins from this address; try again in ${checked.retryAfter} s.`;
      return html(c, await documentOf(LoginPage({ error })), 429);
    }
    if ('failure' in checked) {
      const error = 'That token is not valid (unknown, expired or revoked).';
      return html(c, await documentOf(LoginPage({ error })), 401);
    }
    const result = checked.policy;
    await recordEvent(`token:${result.name}@${address}`, 'ui_login');
    startSession(c, { kind: 'token', header });
    return c.redirect('/', 303);
  });

  app.get('/login/link/:code', async (c) => {
    const owner = sessions.redeem(c.req.param('code'));
    if (owner === undefined) {
      const error = 'That login link was used already or has expired. Run coffer ui again.';
      return html(c, await documentOf(LoginPage({ error })), 401);
    }
    if (owner.kind === 'local') await recordEvent(`${owner.actor}@${c.get('address')}`, 'ui_login');
    startSession(c, owner);
    // Opened from another site or a file (coffer ui opens a file that leads here), the
    // browser would send the new SameSite=Strict cookie with no request of this navigation,
    // a redirect's included: a page of this site takes it on instead.
    const site = c.req.header('sec-fetch-site');
    if (site === 'cross-site' || site === 'same-site') {
      return html(c, await documentOf(LoggedInPage({})));
    }
    return c.redirect('/', 303);
  });

  app.post(
    '/logout',
    deps.bodyLimit,
    change('ui_logout', async (c, w) => {
      sessions.delete(getCookie(c, COOKIE));
      deleteCookie(c, COOKIE, { path: '/', secure: secure(c) });
      await w.vault.auditedTransaction('ui_logout', async () => ({ result: undefined }));
      return html(c, await documentOf(LoginPage({ status: 'Logged out.' })));
    }),
  );

  // ---- browsing ----

  app.get(
    '/',
    page(async (c, w) => {
      await authorize(w.policy, 'list', 'list', {}, w.deny);
      const items = await w.vault.list({ within: within(w.policy) });
      const groups = new Map<string, ProjectSummary & { names: Set<string> }>();
      for (const s of items) {
        const [scope, group] = s.path.split('/') as [string, string];
        const key = `${scope}/${group}`;
        let g = groups.get(key);
        if (g === undefined) {
          g = { scope, group, secrets: 0, envs: [], names: new Set() };
          groups.set(key, g);
        }
        g.names.add(s.path);
        g.envs.push(s.env);
      }
      const projects = [...groups.values()]
        .map((g) => ({
          scope: g.scope,
          group: g.group,
          secrets: g.names.size,
          envs: sortEnvs(g.envs),
        }))
        .sort((a, b) => a.scope.localeCompare(b.scope) || a.group.localeCompare(b.group));
      return html(c, await documentOf(ProjectsPage({ viewer: w.viewer, projects })));
    }),
  );

  app.get(
    '/p/:scope/:group',
    page(async (c, w) => {
      const { scope, group } = c.req.param();
      const prefix = parsePathPrefix(`${scope}/${group}`);
      if (prefix.group === undefined) throw new CofferError('INVALID_ARGUMENT', 'no such project');
      const path = `${prefix.scope}/${prefix.group}`;
      await authorize(w.policy, 'list', 'list', { path, prefix: true }, w.deny);
      const t0 = performance.now();
      const cpu0 = process.cpuUsage();
      const overview = await projectOverview(w.vault, {
        scope: prefix.scope,
        group: prefix.group,
        allows: (p, e) => w.policy.allowsPath(p) && w.policy.allowsEnv(e),
        // Equality with a value one may read tells the other value: only for sessions that
        // may read (and reveal) both.
        mayCompare: (p, e) =>
          w.policy.reveal !== 'never' &&
          w.policy.refusal('read', { path: p, env: e }) === undefined,
        lastReads,
        sameValues,
      });
      const t1 = performance.now();
      const body = await documentOf(
        ProjectPage({ viewer: w.viewer, overview, manifest: manifestFor(path) !== undefined }),
      );
      const t2 = performance.now();
      const cpu = process.cpuUsage(cpu0);
      // Where the time went (bench/ui.mjs reads it): the vault's reads, the page, and the
      // process's CPU time for both (wall time moves with the machine's load, CPU time less).
      const ms = (x: number) => x.toFixed(1);
      c.header(
        'Server-Timing',
        `list;dur=${ms(t1 - t0)}, render;dur=${ms(t2 - t1)}, cpu;dur=${ms((cpu.user + cpu.system) / 1000)}`,
      );
      return html(c, body);
    }),
  );

  /** The secret page's data for `target`, after the access check. */
  const secretView = async (
    w: Who,
    target: { path: string; env: string },
    extra: { error?: string; message?: string } = {},
  ): Promise<SecretView> => {
    await authorize(w.policy, 'list', 'history', target, w.deny);
    const project = target.path.split('/').slice(0, 2).join('/');
    const siblings = (
      await w.vault.list({ prefix: project, includeDeleted: true, within: within(w.policy) })
    ).filter((s) => s.path === target.path);
    let info: SecretInfo | undefined;
    let versions: SecretView['versions'] = [];
    if (siblings.some((s) => s.env === target.env)) {
      const h = await w.vault.history(target.path, target.env);
      info = h.secret;
      versions = h.versions;
    }
    let audit: SecretView['audit'];
    let auditOlder: OlderRecords | undefined;
    if (w.policy.can('admin')) {
      // A bounded read, newest first: a secret seldom used has no record among the newest
      // thousands, and no index holds audit paths, so the page links to the log's own pages.
      const found = await readAuditNewestWithin(w.vault, w.policy, {
        limit: SECRET_AUDIT,
        path: target.path,
      });
      audit = found.records;
      auditOlder = olderRecords({ path: target.path }, found, SECRET_AUDIT);
    }
    const allowed = (cap: 'read' | 'write' | 'delete') =>
      w.policy.refusal(cap, target) === undefined;
    return {
      ...target,
      envs: sortEnvs([...siblings.map((s) => s.env), target.env]),
      info,
      versions,
      audit,
      auditOlder,
      can: {
        read: allowed('read') && w.policy.reveal !== 'never',
        write: allowed('write'),
        delete: allowed('delete'),
      },
      revealMs,
      ...extra,
    };
  };

  const SAVED: Record<string, string> = {
    set: 'Saved a new version.',
    deleted: 'Deleted. Restore brings it back.',
    restored: 'Restored.',
    rotated: 'Rotated: a new version, the previous one kept for the grace window.',
    finished: 'Rotation finished: the previous version is retired.',
    generated: 'Generated and stored a new value (Reveal shows it).',
  };

  app.get(
    '/s/:scope/:group/:name',
    page(async (c, w) => {
      let env = c.req.query('env');
      if (env === undefined) {
        // The first environment it has that the session may see, else dev.
        const target = secretTarget(c, undefined);
        const project = target.path.split('/').slice(0, 2).join('/');
        await authorize(w.policy, 'list', 'history', { path: target.path }, w.deny);
        const mine = (
          await w.vault.list({ prefix: project, includeDeleted: true, within: within(w.policy) })
        ).filter((s) => s.path === target.path);
        env = sortEnvs(mine.map((s) => s.env))[0];
      }
      const target = secretTarget(c, env);
      const s = await secretView(w, target);
      // The notice of the change that led here, only when the secret is in the state that
      // change leaves (deleted, or live): a link anyone can send (?done=deleted) does not
      // make the page say a live secret was deleted, or a deleted one saved.
      const done = c.req.query('done') ?? '';
      const message = SAVED[done];
      const deleted = s.info !== undefined && s.info.deletedAt !== null;
      const live = s.info !== undefined && !deleted;
      if (message !== undefined && (done === 'deleted' ? deleted : live)) s.message = message;
      return html(c, await documentOf(SecretPage({ viewer: w.viewer, s })));
    }),
  );

  // ---- changes to a secret ----

  const backTo = (c: Context<AppEnv>, t: { path: string; env: string }, done: string) =>
    c.redirect(`/s/${t.path}?env=${encodeURIComponent(t.env)}&done=${done}`, 303);

  app.post(
    '/s/:scope/:group/:name/reveal',
    deps.bodyLimit,
    change(
      'get',
      async (c, w) => {
        const target = secretTarget(c, c.req.query('env'));
        await authorize(w.policy, 'read', 'get', target, w.deny);
        if (w.policy.reveal === 'never') {
          await refuse(w.policy, 'get', target, 'values may not be revealed', w.deny);
        }
        const v = await w.vault.get(target.path, target.env);
        return c.json({ path: v.path, env: v.env, version: v.version, value: v.value });
      },
      true,
    ),
  );

  app.post(
    '/s/:scope/:group/:name/set',
    deps.bodyLimit,
    change('set', async (c, w, form) => {
      const target = secretTarget(c, c.req.query('env'));
      await authorize(w.policy, 'write', 'set', target, w.deny);
      const value = textArea(form, 'value');
      if (value === undefined) throw new CofferError('INVALID_ARGUMENT', 'no value was sent');
      await authorizeValueReferences(w.policy, 'set', target, value, w.deny);
      const description = field(form, 'description')?.trim();
      const ifRaw = field(form, 'ifVersion');
      const ifVersion = ifRaw === undefined || ifRaw === '' ? undefined : Number(ifRaw);
      if (ifVersion !== undefined && !Number.isSafeInteger(ifVersion)) {
        throw new CofferError('INVALID_ARGUMENT', 'ifVersion must be a whole number');
      }
      try {
        await w.vault.set(target.path, target.env, value, {
          description: description === '' ? undefined : description,
          ifVersion,
        });
      } catch (err) {
        if (!(err instanceof CofferError)) throw err;
        // The page again with what went wrong (never the value sent).
        c.error = err; // logged with the request (a store failure's detail)
        const { status } = errorResponse(err, c.get('requestId'));
        const s = await secretView(w, target, { error: shownMessage(err) });
        return html(c, await documentOf(SecretPage({ viewer: w.viewer, s })), status);
      }
      return backTo(c, target, 'set');
    }),
  );

  app.post(
    '/s/:scope/:group/:name/delete',
    deps.bodyLimit,
    change('delete', async (c, w) => {
      const target = secretTarget(c, c.req.query('env'));
      await authorize(w.policy, 'delete', 'delete', target, w.deny);
      await w.vault.delete(target.path, target.env);
      return backTo(c, target, 'deleted');
    }),
  );

  app.post(
    '/s/:scope/:group/:name/restore',
    deps.bodyLimit,
    change('restore', async (c, w) => {
      const target = secretTarget(c, c.req.query('env'));
      await authorize(w.policy, 'delete', 'restore', target, w.deny);
      await w.vault.restore(target.path, target.env);
      return backTo(c, target, 'restored');
    }),
  );

  // ---- rotation ----

  app.post(
    '/s/:scope/:group/:name/rotate',
    deps.bodyLimit,
    change('rotate', async (c, w, form) => {
      const target = secretTarget(c, c.req.query('env'));
      const value = textArea(form, 'value');
      try {
        await rotateUnderPolicy(w.vault, w.policy, w.deny, {
          ...target,
          grace: field(form, 'grace') ?? '7d',
          value: value === undefined || value === '' ? undefined : value,
        });
      } catch (err) {
        // A refusal is the request's answer (403), as for every other route.
        if (!(err instanceof CofferError) || err.code === 'FORBIDDEN') throw err;
        c.error = err; // logged with the request (a store failure's detail)
        const { status } = errorResponse(err, c.get('requestId'));
        const s = await secretView(w, target, { error: shownMessage(err) });
        return html(c, await documentOf(SecretPage({ viewer: w.viewer, s })), status);
      }
      return backTo(c, target, 'rotated');
    }),
  );

  app.post(
    '/s/:scope/:group/:name/rotate-finish',
    deps.bodyLimit,
    change('rotate_finish', async (c, w) => {
      const target = secretTarget(c, c.req.query('env'));
      await authorize(w.policy, 'write', 'rotate_finish', target, w.deny);
      await finishRotation(w.vault, target);
      return backTo(c, target, 'finished');
    }),
  );

  app.get(
    '/rotation',
    page(async (c, w) => {
      const service = localSecretsService(w.vault, { policy: w.policy, deny: w.deny });
      const report = await service.rotationStatus({});
      return html(c, await documentOf(RotationPage({ viewer: w.viewer, report })));
    }),
  );

  // ---- audit log ----

  app.get(
    '/audit',
    page(async (c, w) => {
      await authorize(w.policy, 'admin', 'audit', {}, w.deny);
      const q = c.req.query();
      const filters: AuditFilters = {
        path: (q.path ?? '').trim(),
        actor: (q.actor ?? '').trim(),
        action: (q.action ?? '').trim(),
        outcome: (q.outcome ?? '').trim(),
      };
      const before = q.before === undefined ? undefined : Number(q.before);
      if (before !== undefined && !(Number.isSafeInteger(before) && before > 0)) {
        throw new CofferError('INVALID_ARGUMENT', 'before must be a record number');
      }
      const only = (v: string) => (v === '' ? undefined : v);
      const found = await readAuditNewestWithin(w.vault, w.policy, {
        beforeSeq: before,
        limit: AUDIT_PAGE,
        path: only(filters.path),
        actor: only(filters.actor),
        action: only(filters.action),
        outcome: only(filters.outcome),
      });
      const records = found.records;
      const older = olderRecords(filters, found, AUDIT_PAGE);
      let chain: ChainView;
      if (mayReadChain(w.policy)) {
        // Shown on every page, filter and "older" page: reused while the log's head stays.
        const r = await deps.chainCheck.recent();
        chain = {
          ok: r.ok,
          checked: r.records,
          problem:
            r.problem === undefined ? undefined : `record ${r.problem.seq}: ${r.problem.reason}`,
        };
      } else {
        chain = { unavailable: 'Checking the chain needs a token for every path and environment.' };
      }
      return html(
        c,
        await documentOf(AuditPage({ viewer: w.viewer, records, filters, chain, older })),
      );
    }),
  );

  // ---- tokens ----

  const tokensPage = async (
    c: Context<AppEnv>,
    w: Who,
    extra: {
      created?: { name: string; token: string };
      error?: string;
      message?: string;
      /** A token the last change revoked: named only if the list shows it revoked. */
      revoked?: string;
    },
    status = 200,
  ) => {
    const tokens = await listTokens(w.vault, w.policy);
    const { revoked, ...shown } = extra;
    if (revoked !== undefined && tokens.some((t) => t.name === revoked && t.revokedAt !== null)) {
      shown.message = `Revoked ${revoked}.`;
    }
    const neverReveals = w.policy.reveal === 'never';
    return html(
      c,
      await documentOf(TokensPage({ viewer: w.viewer, tokens, neverReveals, ...shown })),
      status,
    );
  };

  app.get(
    '/tokens',
    page(async (c, w) => {
      await authorize(w.policy, 'admin', 'token_list', {}, w.deny);
      // Named only when the list shows a token of that name revoked: a link's own text, or
      // the name of a live token, is not shown as revoked.
      const done = c.req.query('revoked');
      return tokensPage(c, w, done === undefined ? {} : { revoked: done });
    }),
  );

  app.post(
    '/tokens',
    deps.bodyLimit,
    change('token_create', async (c, w, form) => {
      await authorize(w.policy, 'admin', 'token_create', {}, w.deny);
      const ttl = field(form, 'ttl')?.trim();
      try {
        const created = await createToken(
          w.vault,
          {
            name: (field(form, 'name') ?? '').trim(),
            allow: words(field(form, 'allow')),
            envs: words(field(form, 'envs')),
            caps: fieldList(form, 'caps'),
            ttl: ttl === '' ? undefined : ttl,
            // A session that may not reveal values creates only tokens that may not either.
            reveal:
              field(form, 'reveal') === 'never' || w.policy.reveal === 'never' ? 'never' : 'allow',
          },
          now(),
          { policy: w.policy, deny: w.deny },
        );
        return await tokensPage(
          c,
          w,
          { created: { name: created.name, token: created.token } },
          201,
        );
      } catch (err) {
        if (!(err instanceof CofferError)) throw err;
        c.error = err; // logged with the request (a store failure's detail)
        const { status } = errorResponse(err, c.get('requestId'));
        return tokensPage(c, w, { error: shownMessage(err) }, status);
      }
    }),
  );

  app.post(
    '/tokens/:name/revoke',
    deps.bodyLimit,
    change('token_revoke', async (c, w) => {
      await authorize(w.policy, 'admin', 'token_revoke', {}, w.deny);
      const token = await revokeToken(w.vault, c.req.param('name') ?? '', now(), {
        policy: w.policy,
        deny: w.deny,
      });
      authenticator.forget(token.name);
      return c.redirect(`/tokens?revoked=${encodeURIComponent(token.name)}`, 303);
    }),
  );

  workRoutes({
    app,
    bodyLimit: deps.bodyLimit,
    page,
    change,
    secretTarget,
    secretView,
    backTo,
    manifestFor,
    requests: deps.requests,
  });
}

function filtersQuery(f: Partial<AuditFilters>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(f)) if (v !== undefined && v !== '') out[k] = v;
  return out;
}

/**
 * The audit page with `filters` that goes on where `found` stopped, if it stopped before the
 * start of the log; a list shorter than `limit` says where the read stopped.
 */
function olderRecords(
  filters: Partial<AuditFilters>,
  found: AuditNewestPage,
  limit: number,
): OlderRecords | undefined {
  const before = found.nextBeforeSeq;
  if (before === null) return undefined;
  const query = new URLSearchParams({ ...filtersQuery(filters), before: String(before) });
  return {
    href: `/audit?${query}`,
    ...(found.records.length < limit ? { searchedTo: before } : {}),
  };
}
