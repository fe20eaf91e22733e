/**
 * A browser stand-in for the web UI in process (`app.request`): cookies, the session's CSRF
 * token, same-origin headers on posts. Used by the UI's in-process tests.
 */
import { expect } from 'vitest';
import type { Kit } from './server-kit.js';

export const ORIGIN = 'http://coffer.test';

export interface Page {
  status: number;
  headers: Headers;
  text: string;
}

export interface UiSession {
  cookie: string;
  csrf: string;
  get(path: string): Promise<Page>;
  post(
    path: string,
    form?: Record<string, string | string[]>,
    headers?: Record<string, string>,
  ): Promise<Page>;
}

/** The `coffer_session` cookie a response sets (throws when it sets none). */
export function sessionCookie(res: Page): string {
  const set = res.headers.get('set-cookie') ?? '';
  const m = /coffer_session=([^;]+)/.exec(set);
  if (m === null) throw new Error(`no session cookie: ${set}`);
  return `coffer_session=${m[1]}`;
}

export function uiClient(kit: Kit) {
  const request = async (
    method: string,
    path: string,
    o: {
      cookie?: string;
      form?: Record<string, string | string[]>;
      headers?: Record<string, string>;
    } = {},
  ): Promise<Page> => {
    const headers: Record<string, string> = { ...o.headers };
    if (o.cookie !== undefined) headers.cookie = o.cookie;
    let body: string | undefined;
    if (o.form !== undefined) {
      const p = new URLSearchParams();
      for (const [k, v] of Object.entries(o.form)) for (const x of [v].flat()) p.append(k, x);
      body = p.toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    }
    const res = await kit.app.request(
      `${ORIGIN}${path}`,
      { method, headers, ...(body !== undefined ? { body } : {}) },
      { incoming: { socket: { remoteAddress: '127.0.0.1' } } },
    );
    return { status: res.status, headers: res.headers, text: await res.text() };
  };

  /** The session of a `coffer_session` cookie, with the CSRF token of its home page. */
  const session = async (cookie: string): Promise<UiSession> => {
    const home = await request('GET', '/', { cookie });
    const csrf = /<meta name="csrf-token" content="([^"]+)"/.exec(home.text)?.[1] ?? '';
    const s: UiSession = {
      cookie,
      csrf,
      get: (path) => request('GET', path, { cookie }),
      post: (path, form = {}, headers = {}) =>
        request('POST', path, {
          cookie,
          form: { _csrf: s.csrf, ...form },
          headers: { origin: ORIGIN, 'sec-fetch-site': 'same-origin', ...headers },
        }),
    };
    return s;
  };

  const login = async (token: string): Promise<UiSession> => {
    const res = await request('POST', '/login', { form: { token }, headers: { origin: ORIGIN } });
    expect(res.status).toBe(303);
    return session(sessionCookie(res));
  };

  return { request, login, session };
}
