/**
 * The web UI's pages as hono JSX: plain data in, HTML out. No page reads the vault: the
 * routes (ui/routes.ts) make every decision through core and hand the result here. No value
 * is ever passed to a view: a value reaches the browser only in the answer to a reveal.
 *
 * Every page works without JavaScript for reading; the script (/ui/app.js) adds reveal and
 * copy. No inline script or style anywhere (the CSP forbids both).
 */
import { raw } from 'hono/html';
import type { FC, PropsWithChildren } from 'hono/jsx';
import type { TokenInfo } from '../../core/access/tokens.js';
import type { ProjectOverview } from '../../core/environments/overview.js';
import type { RotationStatusReport } from '../../core/rotation/status.js';
import type { ShownAuditRecord } from '../../core/store/storage.js';
import type { SecretInfo, VersionInfo } from '../../core/store/vault-types.js';

export interface Viewer {
  /** Who is logged in (token name, or the local user). */
  name: string;
  csrf: string;
  /** Which links the navigation shows. */
  admin: boolean;
  /** May answer agents' requests somewhere (the requests page's own access rule). */
  answersRequests: boolean;
}

export const Layout: FC<
  PropsWithChildren<{
    title: string;
    viewer?: Viewer | undefined;
    /** A path of this site the page goes on to at once (a meta refresh: no script). */
    next?: string | undefined;
  }>
> = ({ title, viewer, next, children }) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <meta name="color-scheme" content="light dark" />
      {next !== undefined && <meta http-equiv="refresh" content={`0;url=${next}`} />}
      {viewer !== undefined && <meta name="csrf-token" content={viewer.csrf} />}
      <title>{`${title} · coffer`}</title>
      <link rel="stylesheet" href="/ui/app.css" />
      <script src="/ui/app.js" defer />
    </head>
    <body>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href="/">
          coffer
        </a>
        {viewer !== undefined && (
          <nav aria-label="Main">
            <ul>
              <li>
                <a href="/">Projects</a>
              </li>
              <li>
                <a href="/rotation">Rotation</a>
              </li>
              <li>
                <a href="/incidents">Incidents</a>
              </li>
              {viewer.answersRequests && (
                <li>
                  <a href="/requests">Requests</a>
                </li>
              )}
              {viewer.admin && (
                <li>
                  <a href="/audit">Audit log</a>
                </li>
              )}
              {viewer.admin && (
                <li>
                  <a href="/tokens">Tokens</a>
                </li>
              )}
            </ul>
            <form method="post" action="/logout" class="logout">
              <input type="hidden" name="_csrf" value={viewer.csrf} />
              <span class="who">{viewer.name}</span>
              <button type="submit">Log out</button>
            </form>
          </nav>
        )}
      </header>
      <main id="main" tabindex={-1}>
        <h1>{title}</h1>
        {children}
      </main>
    </body>
  </html>
);

/** The whole document, as a string. */
export async function documentOf(node: unknown): Promise<string> {
  return `<!DOCTYPE html>${String(await node)}`;
}

export const Notice: FC<{ error?: string | undefined; message?: string | undefined }> = (p) => (
  <>
    {p.error !== undefined && (
      <p class="notice error" role="alert">
        {p.error}
      </p>
    )}
    {p.message !== undefined && (
      <p class="notice ok" role="status">
        {p.message}
      </p>
    )}
  </>
);

export const Time: FC<{ iso: string | null | undefined }> = ({ iso }) =>
  iso === null || iso === undefined ? <span>—</span> : <time datetime={iso}>{shortTime(iso)}</time>;

function shortTime(iso: string): string {
  return iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC');
}

/**
 * After a login link opened from another site or a file (coffer ui's launch page): the
 * session cookie (SameSite=Strict) goes with no request of a redirect that such a navigation
 * started, so this page, of this site, makes the next one.
 */
export const LoggedInPage: FC = () => (
  <Layout title="Logged in" next="/">
    <p>
      <a href="/">Continue to coffer</a>
    </p>
  </Layout>
);

export const LoginPage: FC<{ error?: string | undefined; status?: string | undefined }> = (p) => (
  <Layout title="Log in">
    <Notice error={p.error} message={p.status} />
    <form method="post" action="/login" class="card narrow">
      <label for="token">Access token</label>
      <input
        id="token"
        name="token"
        type="password"
        autocomplete="off"
        spellcheck={false}
        required
        aria-describedby="token-help"
      />
      <p id="token-help" class="help">
        A token made with <code>coffer token create</code>. It is exchanged for a session; the pages
        show and allow exactly what the token may. On your own machine, <code>coffer ui</code>{' '}
        prints a one-time login link instead.
      </p>
      <button type="submit">Log in</button>
    </form>
  </Layout>
);

export const ErrorPage: FC<{ viewer?: Viewer | undefined; title: string; message: string }> = (
  p,
) => (
  <Layout title={p.title} viewer={p.viewer}>
    <p class="notice error" role="alert">
      {p.message}
    </p>
    <p>
      <a href="/">Back to the projects</a>
    </p>
  </Layout>
);

export interface ProjectSummary {
  scope: string;
  group: string;
  secrets: number;
  envs: string[];
}

export const ProjectsPage: FC<{ viewer: Viewer; projects: ProjectSummary[] }> = (p) => (
  <Layout title="Projects" viewer={p.viewer}>
    {p.projects.length === 0 ? (
      <p>No secrets this session may list.</p>
    ) : (
      <table>
        <caption>Projects and services with secrets you may list</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Secrets</th>
            <th scope="col">Environments</th>
          </tr>
        </thead>
        <tbody>
          {p.projects.map((x) => (
            <tr>
              <th scope="row">
                <a href={`/p/${x.scope}/${x.group}`}>{`${x.scope}/${x.group}`}</a>
              </th>
              <td>{x.secrets}</td>
              <td>{x.envs.join(', ')}</td>
            </tr>
          ))}
        </tbody>
      </table>
    )}
  </Layout>
);

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Text for HTML content or a quoted attribute. */
export function escapeHtml(text: string): string {
  return /[&<>"']/.test(text) ? text.replace(/[&<>"']/g, (ch) => ESCAPES[ch]!) : text;
}

/**
 * The rows of a project page as one string: a project may have hundreds of secrets in
 * several environments, and building them as strings is several times faster than as JSX
 * nodes. Everything from the vault is escaped (a path once per row); paths and environments
 * follow the grammar.
 */
function projectRows(o: ProjectOverview): string {
  const envs = o.envs.map((e) => [e, escapeHtml(e)] as const);
  let out = '';
  for (const r of o.rows) {
    const path = escapeHtml(r.path);
    out += `<tr><th scope="row"><a href="/s/${path}">${escapeHtml(r.name)}</a></th><td>${escapeHtml(r.description)}</td><td>${r.tier ?? '—'}</td><td>${escapeHtml(r.rotation ?? '—')}</td>`;
    for (const [e, env] of envs) {
      const s = r.cells[e];
      if (s === undefined) {
        out += `<td class="missing"><a href="/s/${path}?env=${env}">missing</a></td>`;
        continue;
      }
      const read = s.lastRead === null ? 'never read' : `read ${timeHtml(s.lastRead)}`;
      if (s.deletedAt !== null) {
        out += `<td class="deleted"><a href="/s/${path}?env=${env}">deleted</a> ${timeHtml(s.deletedAt)}</td>`;
      } else {
        const state =
          s.state === null || s.state === 'ok' || s.state === 'no-policy'
            ? ''
            : ` <span class="tag state-${s.state}">${s.state}</span>`;
        out += `<td><a href="/s/${path}?env=${env}">v${s.version}</a>${state}<br><span class="sub">updated ${timeHtml(s.updatedAt)}<br>${read}</span></td>`;
      }
    }
    if (o.compared !== null) {
      out +=
        r.sameValue === null
          ? '<td>—</td>'
          : r.sameValue
            ? '<td class="same"><strong>same</strong></td>'
            : '<td>differs</td>';
    }
    out += '</tr>';
  }
  return out;
}

/**
 * A time as `YYYY-MM-DD HH:MM` (UTC; the project page's note says so), itself a valid `<time>`
 * text: no datetime attribute, which on a 500-secret page is some 70 KB of HTML.
 */
function timeHtml(iso: string): string {
  const t = escapeHtml(iso);
  return `<time>${t.slice(0, 10)} ${t.slice(11, 16)}</time>`;
}

export const ProjectPage: FC<{ viewer: Viewer; overview: ProjectOverview; manifest?: boolean }> = (
  p,
) => (
  <Layout title={p.overview.prefix} viewer={p.viewer}>
    <p class="help">
      Each environment side by side: version, rotation state, last update and last read (UTC), or{' '}
      <em>missing</em>
      {p.overview.compared !== null &&
        `; the last column says which secrets hold the same value in ${p.overview.compared[0]} and ${p.overview.compared[1]} (compared inside the vault, for secrets you may read in both)`}
      . Values are never shown here.
    </p>
    {p.manifest === true && (
      <p>
        <a href={`/p/${p.overview.prefix}/manifest`}>Manifest status (coffer.yaml)</a>
      </p>
    )}
    <section class="scroll" tabindex={0} aria-label={`Secrets of ${p.overview.prefix}`}>
      <table class="secrets">
        <caption>{`Secrets of ${p.overview.prefix} by environment`}</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Description</th>
            <th scope="col">Tier</th>
            <th scope="col">Rotation</th>
            {p.overview.envs.map((e) => (
              <th scope="col">{e}</th>
            ))}
            {p.overview.compared !== null && (
              <th scope="col">{`Same in ${p.overview.compared[0]} and ${p.overview.compared[1]}`}</th>
            )}
          </tr>
        </thead>
        <tbody>{raw(projectRows(p.overview))}</tbody>
      </table>
    </section>
  </Layout>
);

export interface SecretView {
  path: string;
  env: string;
  /** The environments this secret has (for the switcher). */
  envs: string[];
  info: SecretInfo | undefined;
  versions: VersionInfo[];
  /** Its audit records, newest first (undefined: the session may not read the audit log). */
  audit: ShownAuditRecord[] | undefined;
  /** Where its older records are, when the read stopped before the start of the log. */
  auditOlder?: OlderRecords | undefined;
  can: { read: boolean; write: boolean; delete: boolean };
  revealMs: number;
  error?: string | undefined;
  message?: string | undefined;
}

export const SecretPage: FC<{ viewer: Viewer; s: SecretView }> = ({ viewer, s }) => {
  const q = `?env=${encodeURIComponent(s.env)}`;
  const base = `/s/${s.path}`;
  const live = s.info !== undefined && s.info.deletedAt === null;
  const project = s.path.split('/').slice(0, 2).join('/');
  return (
    <Layout title={s.path} viewer={viewer}>
      <p>
        <a href={`/p/${project}`}>{`Back to ${project}`}</a>
      </p>
      <Notice error={s.error} message={s.message} />
      <nav aria-label="Environments" class="envs">
        <ul>
          {s.envs.map((e) => (
            <li>
              <a href={`${base}?env=${e}`} aria-current={e === s.env ? 'page' : undefined}>
                {e}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      {s.info === undefined ? (
        <p>{`No value in ${s.env} yet.`}</p>
      ) : (
        <dl class="meta">
          <dt>Environment</dt>
          <dd>{s.env}</dd>
          <dt>Description</dt>
          <dd>{s.info.description}</dd>
          <dt>Version</dt>
          <dd>{s.info.currentVersion}</dd>
          <dt>Updated</dt>
          <dd>
            <Time iso={s.info.updatedAt} />
          </dd>
          <dt>Created</dt>
          <dd>
            <Time iso={s.info.createdAt} />
          </dd>
          <dt>Tier</dt>
          <dd>{s.info.tier ?? '—'}</dd>
          <dt>Rotation</dt>
          <dd>{s.info.rotation ?? '—'}</dd>
          <dt>Env var</dt>
          <dd>
            <code>{s.info.envVar ?? s.path.split('/')[2]!.toUpperCase()}</code>
          </dd>
          {s.info.deletedAt !== null && (
            <>
              <dt>Deleted</dt>
              <dd>
                <Time iso={s.info.deletedAt} />
              </dd>
            </>
          )}
        </dl>
      )}
      {live && s.can.read && (
        <section aria-labelledby="value-h" class="card">
          <h2 id="value-h">Value</h2>
          <div
            class="reveal"
            data-reveal-url={`${base}/reveal${q}`}
            data-reveal-ms={String(s.revealMs)}
          >
            <output class="value js-value" for="reveal" hidden />
            <p class="js-nojs help">Revealing a value needs JavaScript.</p>
            <div class="buttons">
              <button type="button" id="reveal" class="js-reveal" hidden>
                Reveal
              </button>
              <button type="button" class="js-copy" hidden>
                Copy
              </button>
            </div>
            <p class="help js-status" role="status" aria-live="polite" />
            <p class="help">
              {`Every reveal is audited. The value is hidden again after ${Math.round(s.revealMs / 1000)} s.`}
            </p>
          </div>
        </section>
      )}
      {s.can.write && (
        <section aria-labelledby="set-h" class="card">
          <h2 id="set-h">{s.info === undefined ? 'Add a value' : 'Set a new value'}</h2>
          <form method="post" action={`${base}/set${q}`}>
            <input type="hidden" name="_csrf" value={viewer.csrf} />
            <input
              type="hidden"
              name="ifVersion"
              value={String(s.info === undefined ? 0 : s.info.currentVersion)}
            />
            <label for="new-value">New value</label>
            <textarea
              id="new-value"
              name="value"
              rows={3}
              required
              autocomplete="off"
              spellcheck={false}
            />
            <label for="description">Description</label>
            <input
              id="description"
              name="description"
              value={s.info?.description ?? ''}
              required={s.info === undefined}
              aria-describedby="description-help"
            />
            <p id="description-help" class="help">
              What the secret is for (not just "API key").
            </p>
            <button type="submit">Save new version</button>
          </form>
        </section>
      )}
      {s.can.write && (s.info === undefined || live) && (
        <section aria-labelledby="generate-h" class="card">
          <h2 id="generate-h">Generate a new value</h2>
          <form method="post" action={`${base}/generate${q}`}>
            <input type="hidden" name="_csrf" value={viewer.csrf} />
            <label for="spec">Kind and size</label>
            <input
              id="spec"
              name="spec"
              value={s.info?.generator ?? 'base64:32'}
              required
              aria-describedby="spec-help"
            />
            <p id="spec-help" class="help">
              From the OS's random source: base64:32, hex:32, urlsafe:32, jwt, alnum:24,
              password:20, uuid, fernet. The value is stored, never shown here; Reveal shows it.
            </p>
            {s.info === undefined ? (
              <>
                <label for="gen-description">Description</label>
                <input id="gen-description" name="description" required />
              </>
            ) : (
              <label class="check">
                <input type="checkbox" name="confirm" value="yes" required /> Replace the current
                value (data encrypted or signed with it becomes unreadable)
              </label>
            )}
            <button type="submit">Generate</button>
          </form>
        </section>
      )}
      {s.can.write && live && (
        <section aria-labelledby="rotate-h" class="card">
          <h2 id="rotate-h">Rotate</h2>
          <form method="post" action={`${base}/rotate${q}`}>
            <input type="hidden" name="_csrf" value={viewer.csrf} />
            <p class="help">
              A new version: generated again when the secret has a generator, a new key first in a
              key list, else the value you give (after the provider's steps). The previous version
              stays injected for the grace window.
            </p>
            <label for="grace">Grace window</label>
            <input id="grace" name="grace" value="7d" required />
            <label for="rotate-value">New value (only for a secret that is not generated)</label>
            <textarea
              id="rotate-value"
              name="value"
              rows={2}
              autocomplete="off"
              spellcheck={false}
            />
            <button type="submit">Rotate</button>
          </form>
          <form method="post" action={`${base}/rotate-finish${q}`}>
            <input type="hidden" name="_csrf" value={viewer.csrf} />
            <button type="submit">Finish the rotation (retire the previous version)</button>
          </form>
        </section>
      )}
      {s.can.delete && s.info !== undefined && (
        <section aria-labelledby="delete-h" class="card">
          <h2 id="delete-h">{live ? 'Delete' : 'Restore'}</h2>
          <form method="post" action={`${base}/${live ? 'delete' : 'restore'}${q}`}>
            <input type="hidden" name="_csrf" value={viewer.csrf} />
            <p class="help">
              {live
                ? 'A delete is soft: the versions stay stored and can be restored.'
                : 'Bring the secret back with its latest version.'}
            </p>
            <button type="submit" class={live ? 'danger' : undefined}>
              {live ? `Delete in ${s.env}` : `Restore in ${s.env}`}
            </button>
          </form>
        </section>
      )}
      {s.versions.length > 0 && (
        <section aria-labelledby="history-h">
          <h2 id="history-h">History</h2>
          <table>
            <caption class="sr-only">Versions, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Version</th>
                <th scope="col">Stored</th>
                <th scope="col">By</th>
                <th scope="col">Key</th>
              </tr>
            </thead>
            <tbody>
              {[...s.versions].reverse().map((v) => (
                <tr>
                  <th scope="row">{v.version}</th>
                  <td>
                    <Time iso={v.createdAt} />
                  </td>
                  <td>{v.actor}</td>
                  <td>
                    <code>{v.kekId}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
      <section aria-labelledby="audit-h">
        <h2 id="audit-h">Audit records</h2>
        {s.audit === undefined ? (
          <p class="help">Reading the audit log needs the admin capability.</p>
        ) : (
          <AuditTable records={s.audit} caption={`Audit records of ${s.path}, newest first`} />
        )}
        {s.auditOlder !== undefined && <OlderLink {...s.auditOlder} />}
      </section>
    </Layout>
  );
};

const AuditTable: FC<{ records: ShownAuditRecord[]; caption: string }> = (p) =>
  p.records.length === 0 ? (
    <p>No records.</p>
  ) : (
    <section class="scroll" tabindex={0} aria-label={p.caption}>
      <table class="audit">
        <caption class="sr-only">{p.caption}</caption>
        <thead>
          <tr>
            <th scope="col">#</th>
            <th scope="col">Time</th>
            <th scope="col">Actor</th>
            <th scope="col">Action</th>
            <th scope="col">Path</th>
            <th scope="col">Env</th>
            <th scope="col">Version</th>
            <th scope="col">Outcome</th>
            <th scope="col">Detail</th>
          </tr>
        </thead>
        <tbody>
          {p.records.map((r) => (
            <tr class={`outcome-${r.outcome}`}>
              <td>{r.seq}</td>
              <td>
                <Time iso={r.ts} />
              </td>
              <td>{r.actor}</td>
              <td>{r.action}</td>
              <td>{r.path ?? ''}</td>
              <td>{r.env ?? ''}</td>
              <td>{r.version ?? ''}</td>
              <td>{r.outcome}</td>
              <td>{r.detail ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );

/**
 * The audit page that goes on below a list of records. A read of the log stops after a
 * bounded number of records, so a list may be short, even empty, before the start of the log.
 */
export interface OlderRecords {
  href: string;
  /** The list is short because the read stopped at this record, not at the log's start. */
  searchedTo?: number | undefined;
}

const OlderLink: FC<OlderRecords> = (p) => (
  <>
    {p.searchedTo !== undefined && (
      <p class="help">{`Read the log down to record ${p.searchedTo}; older records may match too.`}</p>
    )}
    <p>
      <a href={p.href}>Older records</a>
    </p>
  </>
);

export interface AuditFilters {
  path: string;
  actor: string;
  action: string;
  outcome: string;
}

export type ChainView =
  | { ok: boolean; checked: number; problem?: string | undefined }
  | { unavailable: string };

export const AuditPage: FC<{
  viewer: Viewer;
  records: ShownAuditRecord[];
  filters: AuditFilters;
  chain: ChainView;
  older: OlderRecords | undefined;
}> = (p) => (
  <Layout title="Audit log" viewer={p.viewer}>
    <section aria-labelledby="chain-h" class="card">
      <h2 id="chain-h">Hash chain</h2>
      {'unavailable' in p.chain ? (
        <p>{p.chain.unavailable}</p>
      ) : p.chain.ok ? (
        <p class="notice ok">{`Verified: ${p.chain.checked} records, none changed, removed or reordered.`}</p>
      ) : (
        <p class="notice error" role="alert">
          {`The chain is broken: ${p.chain.problem ?? 'see coffer audit verify'}`}
        </p>
      )}
    </section>
    <form method="get" action="/audit" class="filters">
      <fieldset>
        <legend>Filters</legend>
        <label for="f-path">Key path</label>
        <input id="f-path" name="path" value={p.filters.path} />
        <label for="f-actor">Actor contains</label>
        <input id="f-actor" name="actor" value={p.filters.actor} />
        <label for="f-action">Action</label>
        <input id="f-action" name="action" value={p.filters.action} />
        <label for="f-outcome">Outcome</label>
        <select id="f-outcome" name="outcome">
          {['', 'ok', 'denied', 'failed'].map((o) => (
            <option value={o} selected={o === p.filters.outcome}>
              {o === '' ? 'any' : o}
            </option>
          ))}
        </select>
        <button type="submit">Filter</button>
      </fieldset>
    </form>
    <AuditTable records={p.records} caption="Audit records, newest first" />
    {p.older !== undefined && <OlderLink {...p.older} />}
  </Layout>
);

export const TokensPage: FC<{
  viewer: Viewer;
  tokens: TokenInfo[];
  created?: { name: string; token: string } | undefined;
  /** The session may not reveal values: neither may a token it creates. */
  neverReveals?: boolean | undefined;
  error?: string | undefined;
  message?: string | undefined;
}> = (p) => (
  <Layout title="Tokens" viewer={p.viewer}>
    <Notice error={p.error} message={p.message} />
    {p.created !== undefined && (
      <section aria-labelledby="created-h" class="card">
        <h2 id="created-h">{`Token ${p.created.name} created`}</h2>
        <p>Copy it now: it is shown this once and only its hash is stored.</p>
        <p>
          <code class="value token-once">{p.created.token}</code>
        </p>
      </section>
    )}
    <table>
      <caption>Tokens within your own policy</caption>
      <thead>
        <tr>
          <th scope="col">Name</th>
          <th scope="col">Paths</th>
          <th scope="col">Environments</th>
          <th scope="col">Capabilities</th>
          <th scope="col">Expires</th>
          <th scope="col">State</th>
        </tr>
      </thead>
      <tbody>
        {p.tokens.map((t) => (
          <tr>
            <th scope="row">{t.name}</th>
            <td>{t.allow.join(' ')}</td>
            <td>{t.envs.length === 0 ? 'any' : t.envs.join(', ')}</td>
            <td>{`${t.caps.join(', ')}${t.noReveal ? ' (no reveal)' : ''}`}</td>
            <td>
              <Time iso={t.expiresAt} />
            </td>
            <td>
              {t.revokedAt !== null ? (
                'revoked'
              ) : (
                <form method="post" action={`/tokens/${t.name}/revoke`}>
                  <input type="hidden" name="_csrf" value={p.viewer.csrf} />
                  <button type="submit" class="danger" aria-label={`Revoke ${t.name}`}>
                    Revoke
                  </button>
                </form>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
    <section aria-labelledby="new-h" class="card">
      <h2 id="new-h">Create a token</h2>
      <form method="post" action="/tokens">
        <input type="hidden" name="_csrf" value={p.viewer.csrf} />
        <label for="t-name">Name</label>
        <input id="t-name" name="name" required pattern="[a-z0-9][a-z0-9_-]*" />
        <label for="t-allow">Key-path globs (space-separated)</label>
        <input id="t-allow" name="allow" required placeholder="project/app/*" />
        <label for="t-envs">Environments (space-separated; empty: any)</label>
        <input id="t-envs" name="envs" />
        <fieldset>
          <legend>Capabilities</legend>
          {['read', 'list', 'write', 'delete', 'admin'].map((c) => (
            <label class="check">
              <input type="checkbox" name="caps" value={c} checked={c === 'read' || c === 'list'} />{' '}
              {c}
            </label>
          ))}
        </fieldset>
        {p.neverReveals === true ? (
          <p class="help">
            It will never reveal values (previews only), as the token you are logged in with.
          </p>
        ) : (
          <label class="check">
            <input type="checkbox" name="reveal" value="never" /> Never reveal values (previews
            only: for a token given to an agent)
          </label>
        )}
        <label for="t-ttl">Expires after (e.g. 30d; empty: never)</label>
        <input id="t-ttl" name="ttl" />
        <p class="help">A token can never be wider than the one you are logged in with.</p>
        <button type="submit">Create token</button>
      </form>
    </section>
  </Layout>
);

export const RotationPage: FC<{ viewer: Viewer; report: RotationStatusReport }> = (p) => (
  <Layout title="Rotation" viewer={p.viewer}>
    <p class="help">
      {`${p.report.overdue} overdue or compromised, ${p.report.counts['due-soon']} due within ${p.report.dueWithinDays} days, ${p.report.counts['in-grace']} in a grace window; ${p.report.neverRotated} never rotated.`}
    </p>
    {p.report.items.length === 0 ? (
      <p>No secrets this session may list.</p>
    ) : (
      <section class="scroll" tabindex={0} aria-label="Rotation status">
        <table>
          <caption>Rotation status, most urgent first</caption>
          <thead>
            <tr>
              <th scope="col">Secret</th>
              <th scope="col">Env</th>
              <th scope="col">State</th>
              <th scope="col">Policy</th>
              <th scope="col">Version</th>
              <th scope="col">Age (days)</th>
              <th scope="col">Due</th>
              <th scope="col">Grace until</th>
              <th scope="col">Next step</th>
            </tr>
          </thead>
          <tbody>
            {p.report.items.map((i) => (
              <tr class={`state-${i.state}`}>
                <th scope="row">
                  <a href={`/s/${i.path}?env=${i.env}`}>{i.path}</a>
                </th>
                <td>{i.env}</td>
                <td>{i.state}</td>
                <td>{i.policy ?? '—'}</td>
                <td>{i.version}</td>
                <td>{i.ageDays}</td>
                <td>
                  <Time iso={i.dueAt} />
                </td>
                <td>
                  <Time iso={i.graceUntil} />
                </td>
                <td>{i.action ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    )}
  </Layout>
);
