/**
 * The context an envelope is bound to, for rows of a table. An application and
 * `coffer envelope rewrap` must build the same string for the same row, so both use these:
 * the default is `{table}/{column}/{id}` (`external_accounts/access_token/42`); an app that
 * chose another shape passes the same template to `--context-template`.
 *
 * `{table}` is the table's own name, without a schema: an application calls
 * `rowContext('external_accounts', ...)` whichever schema the table lives in, so
 * `--table app.external_accounts` fills `{table}` with `external_accounts`. An application
 * that bound the schema too writes it into the template (`app.{table}/{column}/{id}`).
 */
import { CofferError } from '../errors.js';
import type { RowId } from './rewrap.js';

/** The default template of `rowContext` and `coffer envelope rewrap`. */
export const DEFAULT_CONTEXT_TEMPLATE = '{table}/{column}/{id}';

const PLACEHOLDER = /\{([^{}]*)\}/g;
const KNOWN = new Set(['table', 'column', 'id']);

/** `table/column/id`: the recommended context for a value stored in one cell. */
export function rowContext(table: string, column: string, id: RowId): string {
  return `${table}/${column}/${String(id)}`;
}

/** The table's name without its schema: `app.external_accounts` -> `external_accounts`. */
export function unqualifiedTable(table: string): string {
  const dot = table.lastIndexOf('.');
  return dot < 0 ? table : table.slice(dot + 1);
}

/**
 * Compiles a template with the placeholders `{table}`, `{column}` and `{id}` into a function
 * of the row id. `table` may be schema-qualified; `{table}` is its name without the schema
 * (see the module comment). Throws INVALID_ARGUMENT for any other placeholder or a stray
 * brace.
 *
 * @example
 * ```ts
 * contextTemplate('{table}.{column}#{id}', 'external_accounts', 'access_token')(42);
 * // 'external_accounts.access_token#42'
 * contextTemplate(DEFAULT_CONTEXT_TEMPLATE, 'app.external_accounts', 'access_token')(42);
 * // 'external_accounts/access_token/42', as rowContext('external_accounts', 'access_token', 42)
 * ```
 */
export function contextTemplate(
  template: string,
  table: string,
  column: string,
): (id: RowId) => string {
  if (typeof template !== 'string') throw new TypeError('the context template must be a string');
  const unknown = [...template.matchAll(PLACEHOLDER)]
    .map((m) => m[1]!)
    .filter((n) => !KNOWN.has(n));
  if (unknown.length > 0 || /[{}]/.test(template.replace(PLACEHOLDER, ''))) {
    throw new CofferError(
      'INVALID_ARGUMENT',
      'the context template may use only {table}, {column} and {id}',
      { hint: `The default is ${DEFAULT_CONTEXT_TEMPLATE}.` },
    );
  }
  // split() with a capture group: even indexes are literal text, odd ones placeholder names.
  const tokens = template.split(PLACEHOLDER);
  const bare = unqualifiedTable(table);
  const fill = (name: string, id: RowId) =>
    name === 'table' ? bare : name === 'column' ? column : String(id);
  return (id) => tokens.map((tok, i) => (i % 2 === 0 ? tok : fill(tok, id))).join('');
}
