/**
 * The one-time page of a secret request, as HTML: what `coffer mcp` serves on 127.0.0.1 and
 * `coffer serve` at `/r/...` (remote mode). Strings in, HTML out, every field escaped; the
 * headers every answer carries (no-store, a Content-Security-Policy that allows no script, no
 * third-party resource, no framing and forms only to itself, no referrer). Never a value.
 */
import { createHash } from 'node:crypto';
import { CofferError } from '../errors.js';
import type { SecretRequestView } from './secret-requests.js';

/** The largest form accepted: a 64 KiB value, percent-encoded, and the other fields. */
export const MAX_BODY: number = 256 * 1024;

const STYLE =
  'body{font:16px system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#222}' +
  'dt{font-weight:600;margin-top:.6rem}dd{margin:0}input[type=password],textarea{width:100%;font:inherit;padding:.4rem;box-sizing:border-box}' +
  'button{font:inherit;margin:1rem .5rem 0 0;padding:.4rem 1rem}.note{color:#555;font-size:.9rem}.err{color:#a00}';
const STYLE_HASH = createHash('sha256').update(STYLE).digest('base64');

export const PAGE_HEADERS: Record<string, string> = {
  'Cache-Control': 'no-store',
  Pragma: 'no-cache',
  'Content-Security-Policy': `default-src 'none'; style-src 'sha256-${STYLE_HASH}'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  // same-origin, not no-referrer: under no-referrer a browser sends `Origin: null` with the
  // form's POST, which the origin check refuses. The link goes to no other origin either way.
  'Referrer-Policy': 'same-origin',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

export const esc = (s: string): string =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );

export function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta name="referrer" content="same-origin"><title>${esc(title)}</title><style>${STYLE}</style></head><body><h1>${esc(title)}</h1>${body}</body></html>`;
}

/** The form of a request: `action` is where it posts, `csrf` its hidden field. */
export function requestForm(
  r: SecretRequestView,
  action: string,
  csrf: string,
  message = '',
): string {
  return page(
    'A value for coffer',
    `<p><strong>${esc(r.actor)}</strong> asks you for a secret value. It goes into your coffer vault; the agent never sees it.</p>` +
      `<dl><dt>Key path</dt><dd>${esc(r.path)}</dd><dt>Environment</dt><dd>${esc(r.env)}</dd>` +
      `<dt>What it is for</dt><dd>${esc(r.description)}</dd>` +
      (r.writeEnv === undefined ? '' : `<dt>Then written to</dt><dd>${esc(r.writeEnv)}</dd>`) +
      `<dt>Link valid until</dt><dd>${esc(r.expiresAt)}</dd></dl>` +
      (message === '' ? '' : `<p class="err">${esc(message)}</p>`) +
      `<form method="post" action="${esc(action)}" autocomplete="off">` +
      `<input type="hidden" name="csrf" value="${esc(csrf)}">` +
      `<p><label for="value">Value</label><br><input type="password" id="value" name="value" autocomplete="off" spellcheck="false" autofocus></p>` +
      // A password field drops line breaks (browsers strip them): a PEM key or a JSON file
      // goes into the text area instead, shown as typed.
      '<details><summary>A value of several lines (a PEM key, a JSON file)</summary>' +
      '<p><label for="value_lines">Value, line breaks kept (shown as you type)</label><br><textarea id="value_lines" name="value_lines" rows="8" autocomplete="off" spellcheck="false"></textarea></p></details>' +
      '<button type="submit" name="action" value="store">Store in coffer</button>' +
      '<button type="submit" name="action" value="decline">Decline</button></form>' +
      '<p class="note">This link works once. Only paste a value here if you expected this request.</p>',
  );
}

/**
 * A value the vault refuses (too large, a NUL, not well-formed): the page shows its form again
 * with the reason, and the link still works.
 */
export function isRefusedValue(err: unknown): err is CofferError {
  return (
    err instanceof CofferError && (err.code === 'INVALID_VALUE' || err.code === 'VALUE_TOO_LARGE')
  );
}

/**
 * The value a form submitted: the password field, or the text area for a value of several
 * lines (its CRLF line breaks, as browsers send them, back to LF); the request page's form
 * and the web UI's answer form both have the two. Neither or both filled is refused (`isRefusedValue`: the page shows its form again).
 */
export function formValue(fields: { get(name: string): string | null | undefined }): string {
  const line = fields.get('value') ?? '';
  const lines = textAreaValue(fields.get('value_lines') ?? '');
  if (line !== '' && lines !== '') {
    throw new CofferError('INVALID_VALUE', 'both fields hold a value: fill in one of them');
  }
  if (line === '' && lines === '') throw new CofferError('INVALID_VALUE', 'Nothing was entered.');
  return line !== '' ? line : lines;
}

/**
 * What the user typed into a text area: browsers send its line breaks as CRLF whatever was
 * pasted, so they go back to LF (an SSH or PEM key with CRLF line breaks does not load).
 */
export function textAreaValue(raw: string): string {
  return raw.replace(/\r\n/g, '\n');
}
