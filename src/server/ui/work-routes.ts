/**
 * The web UI's pages for the work around secrets: generate a new value on a secret's page,
 * the manifest status of a project (coffer.yaml against the vault), incidents with their
 * timeline, and agents' pending request_secret requests answered here. Same rules as
 * routes.ts: every page and change through core/access `authorize` with the session's policy
 * (refusals audited), every change a same-origin POST with the session's CSRF token, the
 * work done by core as the session's actor. No value is ever in a page.
 */
import type { Context, Hono, MiddlewareHandler } from 'hono';
import { authorize } from '../../core/access/policy.js';
import { sortEnvironments as sortEnvs } from '../../core/environments/overview.js';
import { CofferError } from '../../core/errors.js';
import { ensureGenerated } from '../../core/generate/ensure.js';
import { parseGeneratorSpec } from '../../core/generate/spec.js';
import { closeIncident, listIncidents } from '../../core/incident/incident.js';
import { checkManifest } from '../../core/manifest/check.js';
import { parsePathPrefix } from '../../core/paths.js';
import { formValue } from '../../core/requests/page.js';
import type { RequestInbox } from '../../core/requests/secret-requests.js';
import type { AppEnv } from '../context.js';
import { errorResponse, shownMessage } from '../error-response.js';
import type { ManifestEntry } from './manifests.js';
import { type Form, field, html } from './respond.js';
import type { ChangeFn, PageFn, Who } from './routes.js';
import type { SecretView } from './views.js';
import { documentOf, SecretPage } from './views.js';
import { IncidentsPage, type ManifestEnvStatus, ManifestPage, RequestsPage } from './work-views.js';

export interface WorkDeps {
  app: Hono<AppEnv>;
  bodyLimit: MiddlewareHandler<AppEnv>;
  page: (fn: PageFn) => (c: Context<AppEnv>) => Promise<Response>;
  change: (action: string, fn: ChangeFn) => (c: Context<AppEnv>) => Promise<Response>;
  secretTarget: (c: Context<AppEnv>, env: string | undefined) => { path: string; env: string };
  secretView: (
    w: Who,
    target: { path: string; env: string },
    extra?: { error?: string; message?: string },
  ) => Promise<SecretView>;
  backTo: (c: Context<AppEnv>, t: { path: string; env: string }, done: string) => Response;
  manifestFor: (prefix: string) => ManifestEntry | undefined;
  requests: RequestInbox;
}

export function workRoutes(d: WorkDeps): void {
  const { app, page, change } = d;

  // ---- generate a new value on a secret's page ----

  app.post(
    '/s/:scope/:group/:name/generate',
    d.bodyLimit,
    change('generate', async (c, w, form) => {
      const target = d.secretTarget(c, c.req.query('env'));
      await authorize(w.policy, 'write', 'generate', target, w.deny);
      try {
        const spec = parseGeneratorSpec((field(form, 'spec') ?? '').trim() || 'base64:32');
        const description = field(form, 'description')?.trim();
        const exists = await w.vault.info(target.path, target.env).then(
          () => true,
          (err: unknown) => {
            if (err instanceof CofferError && err.code === 'SECRET_NOT_FOUND') return false;
            throw err;
          },
        );
        if (exists && field(form, 'confirm') !== 'yes') {
          throw new CofferError(
            'INVALID_ARGUMENT',
            'tick the box to replace the current value: data encrypted or signed with it becomes unreadable',
          );
        }
        await ensureGenerated({
          spec,
          force: exists,
          store: {
            vault: w.vault,
            ...target,
            description: description === '' ? undefined : description,
          },
        });
      } catch (err) {
        if (!(err instanceof CofferError)) throw err;
        c.error = err; // logged with the request (a store failure's detail)
        const { status } = errorResponse(err, c.get('requestId'));
        const s = await d.secretView(w, target, { error: shownMessage(err) });
        return html(c, await documentOf(SecretPage({ viewer: w.viewer, s })), status);
      }
      return d.backTo(c, target, 'generated');
    }),
  );

  // ---- manifest status ----

  app.get(
    '/p/:scope/:group/manifest',
    page(async (c, w) => {
      const prefix = parsePathPrefix(`${c.req.param('scope')}/${c.req.param('group')}`);
      if (prefix.group === undefined) throw new CofferError('INVALID_ARGUMENT', 'no such project');
      const path = `${prefix.scope}/${prefix.group}`;
      await authorize(w.policy, 'list', 'manifest_status', { path, prefix: true }, w.deny);
      const entry = d.manifestFor(path);
      if (entry === undefined) {
        throw new CofferError('INVALID_ARGUMENT', `no manifest (coffer.yaml) for ${path} here`, {
          hint: 'coffer ui reads the one of its working directory; coffer serve the files --manifest names.',
        });
      }
      if (entry.manifest === undefined) {
        return html(
          c,
          await documentOf(ManifestPage({ viewer: w.viewer, prefix: path, error: entry.error })),
        );
      }
      const m = entry.manifest;
      const stored = await w.vault.list({
        prefix: path,
        within: (p, e) => w.policy.allowsPath(p) && w.policy.allowsEnv(e),
      });
      const envs = sortEnvs(
        m.environments.length > 0
          ? m.environments
          : [...stored.map((s) => s.env), ...(m.env === null ? [] : [m.env])],
      ).filter((e) => w.policy.allowsEnv(e));
      const status: ManifestEnvStatus[] = envs.map((env) => {
        const check = checkManifest(m, env, stored);
        return {
          env,
          missing: new Set(check.missing.map((x) => x.name)),
          optionalMissing: new Set(check.optionalMissing.map((x) => x.name)),
          plain: new Set(check.plain),
          extra: check.unmanaged,
        };
      });
      return html(
        c,
        await documentOf(ManifestPage({ viewer: w.viewer, prefix: path, manifest: m, status })),
      );
    }),
  );

  // ---- incidents ----

  const visibleIncidents = async (w: Who) =>
    (await listIncidents(w.vault)).filter(
      (i) => w.policy.allowsPath(i.path) && w.policy.allowsEnv(i.env),
    );

  app.get(
    '/incidents',
    page(async (c, w) => {
      await authorize(w.policy, 'list', 'incident_list', {}, w.deny);
      const incidents = await visibleIncidents(w);
      // The notice is built from the incident itself, never from the link's text.
      const closedId = c.req.query('closed');
      const closed = incidents.find((i) => i.id === closedId && i.closedAt !== null)?.id;
      return html(
        c,
        await documentOf(
          IncidentsPage({
            viewer: w.viewer,
            incidents,
            canClose: (i) => w.policy.refusal('write', i) === undefined,
            message: closed === undefined ? undefined : `Closed ${closed}.`,
          }),
        ),
      );
    }),
  );

  app.post(
    '/incidents/:id/close',
    d.bodyLimit,
    change('incident_close', async (c, w) => {
      const id = c.req.param('id') ?? '';
      const incident = (await listIncidents(w.vault)).find((i) => i.id === id);
      // An incident outside the policy is refused (and audited) before it is looked at.
      const target = incident ?? { path: undefined, env: undefined };
      await authorize(w.policy, 'write', 'incident_close', target, w.deny);
      if (incident === undefined) {
        throw new CofferError('INVALID_ARGUMENT', 'no such incident');
      }
      await closeIncident(w.vault, incident.id);
      return c.redirect(`/incidents?closed=${encodeURIComponent(incident.id)}`, 303);
    }),
  );

  // ---- agents' requests for a value ----

  const mayAnswer = (w: Who, r: { path: string; env: string }) =>
    w.policy.refusal('write', r) === undefined;

  const requestsPage = async (
    c: Context<AppEnv>,
    w: Who,
    extra: { error?: string; message?: string } = {},
    status = 200,
  ) => {
    const { requests, more, unverifiable } = await d.requests.waiting((r) => mayAnswer(w, r));
    return html(
      c,
      await documentOf(
        RequestsPage({
          viewer: w.viewer,
          requests,
          more,
          unverifiable,
          ...extra,
        }),
      ),
      status,
    );
  };

  app.get(
    '/requests',
    page(async (c, w) => {
      await authorize(w.policy, 'write', 'request_list', {}, w.deny);
      // The notice is built from the request itself, never from the link's text.
      const id = c.req.query('done');
      const r = id === undefined ? undefined : await d.requests.peek(id);
      const visible = r !== undefined && w.policy.refusal('write', r) === undefined;
      const message = !visible
        ? undefined
        : r.status === 'stored'
          ? `Stored ${r.path} (${r.env}) version ${r.version} for ${r.actor}.`
          : r.status === 'declined'
            ? `Declined the request for ${r.path} (${r.env}).`
            : undefined;
      return requestsPage(c, w, message === undefined ? {} : { message });
    }),
  );

  /** The request `id`, if the session may write its key path (a refusal is audited). */
  const requestFor = async (w: Who, id: string, action: string) => {
    const r = await d.requests.peek(id);
    await authorize(w.policy, 'write', action, r ?? { path: undefined, env: undefined }, w.deny);
    if (r === undefined) {
      throw new CofferError('REQUEST_NOT_FOUND', 'no such secret request in this server');
    }
    return r;
  };

  const answered = (c: Context<AppEnv>, id: string) =>
    c.redirect(`/requests?done=${encodeURIComponent(id)}`, 303);

  app.post(
    '/requests/:id/answer',
    d.bodyLimit,
    change('request_answer', async (c, w, form: Form) => {
      const r = await requestFor(w, c.req.param('id') ?? '', 'request_answer');
      try {
        const value = formValue({ get: (name) => field(form, name) });
        await d.requests.answer(r.id, value, w.vault);
        return answered(c, r.id);
      } catch (err) {
        if (!(err instanceof CofferError)) throw err;
        c.error = err; // logged with the request (a store failure's detail)
        const { status } = errorResponse(err, c.get('requestId'));
        return requestsPage(c, w, { error: shownMessage(err) }, status);
      }
    }),
  );

  app.post(
    '/requests/:id/decline',
    d.bodyLimit,
    change('request_decline', async (c, w) => {
      const r = await requestFor(w, c.req.param('id') ?? '', 'request_decline');
      try {
        await d.requests.declineById(r.id, w.vault.actor);
        return answered(c, r.id);
      } catch (err) {
        if (!(err instanceof CofferError)) throw err;
        c.error = err; // logged with the request (a store failure's detail)
        const { status } = errorResponse(err, c.get('requestId'));
        return requestsPage(c, w, { error: shownMessage(err) }, status);
      }
    }),
  );
}
