/**
 * Resolving references against a vault: every secret a set of texts names is read in one
 * batch (one audited read each, as `coffer run` does), then each text is rendered.
 */
import { CofferError } from '../errors.js';
import type { ReadOutcome, ReadRequest } from '../store/vault.js';
import {
  isDerived,
  type ReferenceVariables,
  referenceKey,
  references,
  render,
  type SecretReference,
} from './reference.js';

/** What resolving needs from a vault: `Vault.getMany`. */
export interface ReferenceReader {
  getMany(requests: readonly ReadRequest[]): Promise<ReadOutcome[]>;
}

/**
 * The texts with their references replaced by values, in the order given. `inputs`, when
 * given, receives every value read (what a derived value is made of: `coffer run` masks
 * those too, since a program may print the part it parses out).
 */
export async function resolveReferences(
  reader: ReferenceReader,
  texts: readonly string[],
  env: string,
  vars: ReferenceVariables = {},
  inputs?: string[],
): Promise<string[]> {
  const wanted = new Map<string, SecretReference & { env: string }>();
  for (const text of texts) {
    for (const ref of references(text, vars)) {
      const e = ref.env ?? env;
      wanted.set(referenceKey(ref.path, e), { ...ref, env: e });
    }
  }
  const list = [...wanted.values()];
  const outcomes =
    list.length === 0 ? [] : await reader.getMany(list.map((r) => ({ path: r.path, env: r.env })));
  const values = new Map<string, string>();
  for (const [i, outcome] of outcomes.entries()) {
    const ref = list[i]!;
    if (outcome.ok) {
      values.set(referenceKey(ref.path, ref.env), outcome.value.value);
      inputs?.push(outcome.value.value);
      continue;
    }
    const err = outcome.error;
    if (
      err instanceof CofferError &&
      (err.code === 'SECRET_NOT_FOUND' || err.code === 'SECRET_DELETED')
    ) {
      continue; // reported by render, naming the reference
    }
    throw err;
  }
  return texts.map((t) => render(t, env, (path, e) => values.get(referenceKey(path, e)), vars));
}

/**
 * Stored values that are derived (a reference on its own, or text with `{{ coffer://... }}`
 * templates), resolved one level in `env` with `reader`'s access: what every consumer of a
 * project's values gives a program or a file (`run`, `env pull`, `export`, `sync`), so that
 * a derived value follows its inputs everywhere alike. Other items are returned as they
 * are; the list is new, the items copied where resolved. `inputs` receives the values read.
 */
export async function resolveDerived<T extends { value: string; path?: string }>(
  reader: ReferenceReader,
  items: readonly T[],
  env: string,
  inputs?: string[],
): Promise<T[]> {
  const derived = items.filter((v) => isDerived(v.value));
  if (derived.length === 0) return [...items];
  for (const v of derived) {
    try {
      references(v.value);
    } catch (err) {
      // The parser quotes the text it was given: here, a stored value (one that only looks
      // like a reference may be a secret). Named by its key path instead.
      if (!(err instanceof CofferError) || err.code !== 'INVALID_REFERENCE') throw err;
      throw new CofferError(
        'INVALID_REFERENCE',
        `the stored value${v.path === undefined ? '' : ` of ${v.path}`} starts like a coffer:// reference or holds a {{ coffer://... }} template, but it is not a valid one`,
        {
          hint: 'Store the reference again in its form coffer://project/P/NAME[?env=E] (coffer set), or a value that does not start with coffer://.',
        },
      );
    }
  }
  const resolved = await resolveReferences(
    reader,
    derived.map((v) => v.value),
    env,
    {},
    inputs,
  );
  const byItem = new Map(derived.map((v, i) => [v, resolved[i]!]));
  return items.map((v) => {
    const value = byItem.get(v);
    return value === undefined ? v : { ...v, value };
  });
}
