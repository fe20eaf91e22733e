/**
 * The one-time page where the user gives a value that an agent asked for with
 * request_secret: an HTTP server on 127.0.0.1 (a random port, started on the first request),
 * one URL per request (`/r/{token}`, 256 random bits), rules in core/requests.
 *
 * Hardening: only loopback Host headers are served (a DNS-rebinding page gets nothing); a
 * submission must come from the page itself (its Origin) and carry the page's CSRF field (an
 * HMAC of the token under a key of this process); every answer is `Cache-Control: no-store`,
 * with a Content-Security-Policy that allows no script, no third-party resource, no framing
 * and forms only to itself, and no referrer. Bodies are capped. The value is passed to the
 * registry and never logged, echoed or kept.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CofferError } from '../core/errors.js';
import type { SecretRequests, SecretRequestView } from '../core/requests/secret-requests.js';

/** The largest form accepted: a 64 KiB value, percent-encoded, and the other fields. */
const MAX_BODY = 256 * 1024;

const STYLE =
  'body{font:16px system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#222}' +
  'dt{font-weight:600;margin-top:.6rem}dd{margin:0}input[type=password]{width:100%;font:inherit;padding:.4rem}' +
  'button{font:inherit;margin:1rem .5rem 0 0;padding:.4rem 1rem}.note{color:#555;font-size:.9rem}.err{color:#a00}';
const STYLE_HASH = createHash('sha256').update(STYLE).digest('base64');

const HEADERS: Record<string, string> = {
  'Cache-Control': 'no-store',
  Pragma: 'no-cache',
  'Content-Security-Policy': `default-src 'none'; style-src 'sha256-${STYLE_HASH}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

const esc = (s: string) =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta name="referrer" content="no-referrer"><title>${esc(title)}</title><style>${STYLE}</style></head><body><h1>${esc(title)}</h1>${body}</body></html>`;
}

export interface RequestPage {
  /** The URL of a request's page (starts the server on first use). */
  urlFor(token: string): Promise<string>;
  close(): Promise<void>;
}

/** The page server over `requests`; nothing listens until the first `urlFor`. */
export function createRequestPage(requests: SecretRequests): RequestPage {
  const csrfKey = randomBytes(32);
  let server: Server | undefined;
  let origin = '';
  let listening: Promise<void> | undefined;

  const csrfOf = (token: string) =>
    createHmac('sha256', csrfKey).update(token, 'utf8').digest('base64url');

  const send = (res: ServerResponse, status: number, html: string) => {
    res.writeHead(status, { ...HEADERS, 'Content-Type': 'text/html; charset=utf-8' });
    res.end(html);
  };

  const failure = (res: ServerResponse, err: unknown) => {
    if (err instanceof CofferError) {
      const status =
        err.code === 'REQUEST_NOT_FOUND' ? 404 : err.code === 'REQUEST_CLOSED' ? 410 : 400;
      send(
        res,
        status,
        page(
          'coffer',
          `<p class="err">${esc(err.message)}</p><p class="note">${esc(err.hint ?? '')}</p>`,
        ),
      );
    } else send(res, 500, page('coffer', '<p class="err">Something went wrong.</p>'));
  };

  const form = (r: SecretRequestView, token: string, message = '') =>
    page(
      'A value for coffer',
      `<p><strong>${esc(r.actor)}</strong> asks you for a secret value. It goes into your coffer vault; the agent never sees it.</p>` +
        `<dl><dt>Key path</dt><dd>${esc(r.path)}</dd><dt>Environment</dt><dd>${esc(r.env)}</dd>` +
        `<dt>What it is for</dt><dd>${esc(r.description)}</dd>` +
        (r.writeEnv === undefined ? '' : `<dt>Then written to</dt><dd>${esc(r.writeEnv)}</dd>`) +
        `<dt>Link valid until</dt><dd>${esc(r.expiresAt)}</dd></dl>` +
        (message === '' ? '' : `<p class="err">${esc(message)}</p>`) +
        `<form method="post" action="/r/${esc(token)}" autocomplete="off">` +
        `<input type="hidden" name="csrf" value="${esc(csrfOf(token))}">` +
        `<p><label for="value">Value</label><br><input type="password" id="value" name="value" autocomplete="off" spellcheck="false" autofocus></p>` +
        '<button type="submit" name="action" value="store">Store in coffer</button>' +
        '<button type="submit" name="action" value="decline">Decline</button></form>' +
        '<p class="note">This link works once. Only paste a value here if you expected this request.</p>',
    );

  const readBody = (req: IncomingMessage): Promise<string | undefined> =>
    new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY) {
          resolve(undefined);
          req.destroy();
        } else chunks.push(c);
      });
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve(body.toString('utf8'));
        body.fill(0);
      });
      req.on('error', reject);
    });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    // Loopback Host only: what a rebinding DNS name points here is refused.
    if (req.headers.host !== new URL(origin).host) {
      send(res, 421, page('coffer', '<p class="err">Wrong host.</p>'));
      return;
    }
    const match = /^\/r\/([A-Za-z0-9_-]{43})$/.exec(req.url ?? '');
    if (match === null) {
      send(res, 404, page('coffer', '<p class="err">Not found.</p>'));
      return;
    }
    const token = match[1]!;
    if (req.method === 'GET') {
      const r = await requests.open(token);
      send(res, 200, form(r, token));
      return;
    }
    if (req.method !== 'POST') {
      res.writeHead(405, { ...HEADERS, Allow: 'GET, POST' });
      res.end();
      return;
    }
    if (req.headers.origin !== origin) {
      send(
        res,
        403,
        page('coffer', '<p class="err">This form must be sent from its own page.</p>'),
      );
      return;
    }
    if (!(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
      send(res, 415, page('coffer', '<p class="err">Unsupported form encoding.</p>'));
      return;
    }
    const body = await readBody(req);
    if (body === undefined) {
      send(res, 413, page('coffer', '<p class="err">The value is too large (64 KiB at most).</p>'));
      return;
    }
    const fields = new URLSearchParams(body);
    const csrf = Buffer.from(fields.get('csrf') ?? '');
    const expected = Buffer.from(csrfOf(token));
    if (csrf.length !== expected.length || !timingSafeEqual(csrf, expected)) {
      send(
        res,
        403,
        page('coffer', '<p class="err">This form must be sent from its own page.</p>'),
      );
      return;
    }
    if (fields.get('action') === 'decline') {
      await requests.decline({ token }, 'the user');
      send(res, 200, page('Declined', '<p>Nothing was stored. You can close this tab.</p>'));
      return;
    }
    const value = fields.get('value') ?? '';
    if (value === '') {
      const r = await requests.open(token);
      send(res, 400, form(r, token, 'Nothing was entered.'));
      return;
    }
    const r = await requests.submit(token, value);
    send(
      res,
      200,
      page(
        'Stored',
        `<p>${esc(r.path)} (${esc(r.env)}) is stored as version ${r.version}${r.written?.length ? ` and written to ${esc(r.writeEnv ?? '')}` : ''}. You can close this tab.</p>`,
      ),
    );
  };

  const start = (): Promise<void> => {
    listening ??= new Promise((resolve, reject) => {
      server = createServer((req, res) => {
        handle(req, res).catch((err) => failure(res, err));
      });
      server.headersTimeout = 20_000;
      server.requestTimeout = 60_000;
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        origin = `http://127.0.0.1:${(server!.address() as AddressInfo).port}`;
        server!.unref();
        resolve();
      });
    });
    return listening;
  };

  return {
    async urlFor(token) {
      await start();
      return `${origin}/r/${token}`;
    },
    close: () =>
      new Promise((resolve) => {
        if (server === undefined) resolve();
        else {
          server.closeAllConnections();
          server.close(() => resolve());
        }
      }),
  };
}
