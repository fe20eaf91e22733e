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
 * registry and never logged, echoed or kept. A refused use of a request's page (wrong Host,
 * Origin or CSRF field) is audited through the registry (`refusePage`), never the token.
 * Links that name no request, of a token's shape or not, count against a failure budget, the
 * API's (core/requests/link-guesses.ts): past it, 429 with Retry-After, audited once per window.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CofferError } from '../core/errors.js';
import { LINK_PATH_PREFIX, LinkGuesses } from '../core/requests/link-guesses.js';
import {
  esc,
  formValue,
  PAGE_HEADERS as HEADERS,
  isRefusedValue,
  MAX_BODY,
  page,
  requestForm,
} from '../core/requests/page.js';
import type { SecretRequests, SecretRequestView } from '../core/requests/secret-requests.js';

export interface RequestPage {
  /** The URL of a request's page (starts the server on first use). */
  urlFor(token: string): Promise<string>;
  close(): Promise<void>;
}

export interface RequestPageOptions {
  /**
   * The failure budget of links that name no request (the API's: 10 per 60 s per address;
   * on loopback every client shares one): past it, 429 with Retry-After.
   */
  guesses?: LinkGuesses | undefined;
}

/** The page server over `requests`; nothing listens until the first `urlFor`. */
export function createRequestPage(
  requests: SecretRequests,
  options: RequestPageOptions = {},
): RequestPage {
  const guesses = options.guesses ?? new LinkGuesses(async () => undefined);
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
    requestForm(r, `/r/${token}`, csrfOf(token), message);

  const readBody = (req: IncomingMessage): Promise<string | undefined> =>
    new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        if (size > MAX_BODY) return; // over the cap: the rest is not kept
        size += c.length;
        if (size > MAX_BODY) {
          for (const chunk of chunks) chunk.fill(0);
          chunks.length = 0;
          resolve(undefined);
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
    const url = req.url ?? '';
    // Everything under /r/ is a link, of a token's shape or not (core tells which names a
    // request, and counts the others as guesses).
    const token = url.startsWith(LINK_PATH_PREFIX) ? url.slice(LINK_PATH_PREFIX.length) : undefined;
    /** Audits a refusal of a request's page (when the URL names one) and sends 403/421. */
    const refuse = async (status: number, reason: string, html: string) => {
      if (token !== undefined) {
        await requests.refusePage(
          token,
          `${reason} (from ${req.socket.remoteAddress ?? 'unknown'})`,
        );
      }
      send(res, status, page('coffer', html));
    };
    const own = '<p class="err">This form must be sent from its own page.</p>';
    // Loopback Host only: what a rebinding DNS name points here is refused.
    if (req.headers.host !== new URL(origin).host) {
      await refuse(421, 'wrong Host header', '<p class="err">Wrong host.</p>');
      return;
    }
    if (token === undefined) {
      send(res, 404, page('coffer', '<p class="err">Not found.</p>'));
      return;
    }
    // A link that names no request (malformed or not) counts against the address's budget;
    // past it, none is looked up until the window ends.
    const admitted = await guesses.admit(req.socket.remoteAddress ?? 'unknown', () =>
      requests.checkLink(token),
    );
    if ('retryAfter' in admitted) {
      res.setHeader('Retry-After', String(admitted.retryAfter));
      send(
        res,
        429,
        page(
          'coffer',
          `<p class="err">Too many links that name no request; try again in ${admitted.retryAfter} s.</p>`,
        ),
      );
      return;
    }
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
      await refuse(
        403,
        req.headers.origin === undefined
          ? 'form sent without an Origin header'
          : 'form sent from another origin',
        own,
      );
      return;
    }
    if (!(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
      send(res, 415, page('coffer', '<p class="err">Unsupported form encoding.</p>'));
      return;
    }
    const body = await readBody(req);
    if (body === undefined) {
      // Answered before the rest of the body, which is not read: the connection ends with it.
      res.setHeader('Connection', 'close');
      res.on('finish', () => req.destroy());
      send(res, 413, page('coffer', '<p class="err">The value is too large (64 KiB at most).</p>'));
      return;
    }
    const fields = new URLSearchParams(body);
    const csrf = Buffer.from(fields.get('csrf') ?? '');
    const expected = Buffer.from(csrfOf(token));
    if (csrf.length !== expected.length || !timingSafeEqual(csrf, expected)) {
      await refuse(403, "form without the page's CSRF field", own);
      return;
    }
    if (fields.get('action') === 'decline') {
      await requests.decline({ token }, 'the user');
      send(res, 200, page('Declined', '<p>Nothing was stored. You can close this tab.</p>'));
      return;
    }
    let r: SecretRequestView;
    try {
      r = await requests.submit(token, formValue(fields));
    } catch (err) {
      // A value the vault refuses: the form again, with the reason; the link still works.
      if (!isRefusedValue(err)) throw err;
      send(res, 400, form(await requests.open(token), token, err.message));
      return;
    }
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
