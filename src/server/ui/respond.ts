/** What the web UI's route files share: answering with a page, reading a form. */
import type { Context } from 'hono';
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

/** The first value of a form field. */
export function field(form: Form, name: string): string | undefined {
  const v = form[name];
  return typeof v === 'string' ? v : Array.isArray(v) ? v[0] : undefined;
}
