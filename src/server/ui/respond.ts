/** What the web UI's route files share: answering with a page, reading a form. */
import type { Context } from 'hono';
import { CofferError } from '../../core/errors.js';
import type { AppEnv } from '../context.js';

export type Form = Record<string, string | string[]>;

/**
 * An HTML answer, as UTF-8 bytes: node writes a large string body more slowly than the same
 * bytes (measured on the 300 KB project page of bench/ui.mjs).
 */
export function html(c: Context<AppEnv>, body: string, status = 200): Response {
  return c.body(Buffer.from(body, 'utf8'), status as 200, {
    'content-type': 'text/html; charset=UTF-8',
  });
}

/**
 * The fields of a form the browser sent (`application/x-www-form-urlencoded`, as every form
 * of the UI is; a body-less POST has none). Anything else (multipart with files, a malformed
 * body) is refused with 415 instead of reaching a route as something other than strings.
 */
export async function readForm(c: Context<AppEnv>): Promise<Form> {
  const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  const text = await c.req.text();
  if (type !== 'application/x-www-form-urlencoded' && !(type === '' && text === '')) {
    throw new CofferError(
      'UNSUPPORTED_MEDIA_TYPE',
      'a form is sent as application/x-www-form-urlencoded',
      {
        hint: 'Send the form from its page.',
      },
    );
  }
  const out: Form = {};
  for (const [k, v] of new URLSearchParams(text)) {
    const had = out[k];
    out[k] = had === undefined ? v : Array.isArray(had) ? [...had, v] : [had, v];
  }
  return out;
}

/** The first value of a form field. */
export function field(form: Form, name: string): string | undefined {
  const v = form[name];
  return typeof v === 'string' ? v : Array.isArray(v) ? v[0] : undefined;
}
