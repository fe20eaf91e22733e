/**
 * A small in-test stand-in for `coffer serve`: node:http, one bearer token, an in-memory map,
 * and the routes of docs/http-api.md that the CLI's remote mode uses, with the documented
 * error shape `{code, message, requestId}`. It has no check-set route: to the CLI it is a
 * server older than that check. It lets the remote-mode tests check the client
 * side on its own; the same scenarios also run against the real server.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

interface Stored {
  info: Record<string, unknown> & { path: string; env: string; currentVersion: number };
  versions: { version: number; value: string; createdAt: string }[];
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const notFound = (path: string, env: string) =>
  new HttpError(404, 'SECRET_NOT_FOUND', `no secret ${path} in environment ${env}`);

export interface FakeServer {
  url: string;
  /** Method and path of every request, in order (no headers, no bodies). */
  requests: string[];
  close(): Promise<void>;
}

export async function startFakeServer(token: string): Promise<FakeServer> {
  const secrets = new Map<string, Stored>();
  const audit: Record<string, unknown>[] = [];
  const requests: string[] = [];
  let ids = 0;
  const now = () => new Date().toISOString();
  const record = (
    action: string,
    path: string | null,
    env: string | null,
    version: number | null,
  ) =>
    audit.push({
      seq: audit.length + 1,
      ts: now(),
      actor: 'token:fake',
      action,
      path,
      env,
      version,
      outcome: 'ok',
      detail: null,
      prevHash: `h${audit.length}`,
      hash: `h${audit.length + 1}`,
    });
  const live = (path: string, env: string) => {
    const s = secrets.get(`${env} ${path}`);
    if (s === undefined || s.info.deletedAt !== null) throw notFound(path, env);
    return s;
  };

  async function handle(req: IncomingMessage, q: URLSearchParams, route: string, body: unknown) {
    const env = q.get('env') ?? 'dev';
    const m =
      /^\/v1\/secrets\/((?:project|meta)\/[a-z0-9_-]+\/[a-z0-9_-]+)(\/history|\/verify)?$/.exec(
        route,
      );
    if (req.method === 'GET' && route === '/v1/secrets') {
      const prefix = q.get('prefix') ?? '';
      const items = [...secrets.values()]
        .map((s) => s.info)
        .filter((i) => i.env === env && i.path.startsWith(prefix))
        .filter((i) => q.get('includeDeleted') === 'true' || i.deletedAt === null)
        .sort((a, b) => a.path.localeCompare(b.path));
      record('list', prefix || null, env, null);
      return { items };
    }
    if (m && req.method === 'GET' && m[2] === undefined) {
      const s = live(m[1]!, env);
      const version = Number(q.get('version') ?? s.info.currentVersion);
      const v = s.versions.find((x) => x.version === version);
      if (v === undefined)
        throw new HttpError(404, 'VERSION_NOT_FOUND', `${m[1]} (${env}) has no version ${version}`);
      record('get', m[1]!, env, version);
      const { path, description } = s.info;
      return { path, env, version, value: v.value, description, createdAt: v.createdAt };
    }
    if (m && req.method === 'PUT' && m[2] === undefined) {
      const { value, description, ifVersion } = body as Record<string, unknown>;
      if (typeof value !== 'string')
        throw new HttpError(400, 'INVALID_VALUE', 'value must be a string');
      const key = `${env} ${m[1]}`;
      const existing = secrets.get(key);
      const current = existing?.info.currentVersion ?? 0;
      if (ifVersion !== undefined && ifVersion !== current)
        throw new HttpError(
          409,
          'VERSION_CONFLICT',
          `${m[1]} (${env}) is at version ${current}, not ${ifVersion}`,
        );
      if (existing === undefined && typeof description !== 'string')
        throw new HttpError(
          400,
          'INVALID_DESCRIPTION',
          `a description is required to create ${m[1]}`,
        );
      const ts = now();
      const s: Stored = existing ?? {
        info: {
          path: m[1]!,
          env,
          description,
          currentVersion: 0,
          tier: null,
          rotation: null,
          envVar: null,
          localOnly: false,
          generator: null,
          createdAt: ts,
          updatedAt: ts,
          deletedAt: null,
        },
        versions: [],
      };
      s.info.currentVersion = current + 1;
      s.info.updatedAt = ts;
      if (typeof description === 'string') s.info.description = description;
      s.versions.push({ version: current + 1, value, createdAt: ts });
      secrets.set(key, s);
      record('set', m[1]!, env, current + 1);
      return { path: m[1], env, version: current + 1, created: existing === undefined };
    }
    if (m && req.method === 'GET' && m[2] === '/history') {
      const s = secrets.get(`${env} ${m[1]}`);
      if (s === undefined) throw notFound(m[1]!, env);
      const versions = s.versions.map((v) => ({
        version: v.version,
        createdAt: v.createdAt,
        actor: 'token:fake',
        kekId: 'fake-kek',
      }));
      return { path: m[1], env, versions };
    }
    if (m && req.method === 'GET' && m[2] === '/verify') {
      const s = live(m[1]!, env);
      return { ok: true, checked: s.versions.length, failures: [], keyFailures: [] };
    }
    const p = /^\/v1\/projects\/([a-z0-9_-]+)\/secrets$/.exec(route);
    if (p && req.method === 'GET') {
      const items = [...secrets.values()]
        .filter((s) => s.info.env === env && s.info.deletedAt === null)
        .filter((s) => s.info.path.startsWith(`project/${p[1]}/`))
        .map((s) => {
          const name = s.info.path.split('/')[2]!;
          const value = s.versions.at(-1)!.value;
          const envVar = name.toUpperCase();
          return {
            path: s.info.path,
            name,
            envVar,
            version: s.info.currentVersion,
            value,
            localOnly: false,
          };
        });
      return { project: p[1], env, items };
    }
    if (req.method === 'GET' && route === '/v1/audit') {
      const after = Number(q.get('afterSeq') ?? 0);
      const limit = Number(q.get('limit') ?? 100);
      const path = q.get('path');
      const items = audit
        .filter((r) => (r.seq as number) > after && (path === null || r.path === path))
        .slice(0, limit);
      return { items };
    }
    if (req.method === 'POST' && route === '/v1/file-writes') {
      const { secrets: written } = body as {
        secrets: { path: string; env: string; version: number }[];
      };
      for (const w of written) record('file_write', w.path, w.env, w.version);
      return { recorded: written.length };
    }
    if (req.method === 'GET' && route === '/v1/audit/verify')
      return { ok: true, checked: audit.length };
    // As the real server answers a route it does not have (an older one, for a newer client).
    throw new HttpError(404, 'ROUTE_NOT_FOUND', `no route ${req.method} ${route}`);
  }

  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const u = new URL(req.url ?? '/', 'http://fake');
    requests.push(`${req.method} ${u.pathname}`);
    const send = (status: number, data: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(data));
    };
    const requestId = `fake-${++ids}`;
    try {
      if (u.pathname === '/healthz') {
        send(200, { ok: true });
        return;
      }
      if (req.headers.authorization !== `Bearer ${token}`)
        throw new HttpError(401, 'UNAUTHENTICATED', 'missing, unknown, expired or revoked token');
      let text = '';
      for await (const chunk of req) text += chunk;
      send(200, await handle(req, u.searchParams, u.pathname, text ? JSON.parse(text) : undefined));
    } catch (err) {
      const e = err instanceof HttpError ? err : new HttpError(500, 'INTERNAL', 'internal error');
      send(e.status, { code: e.code, message: e.message, requestId });
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
