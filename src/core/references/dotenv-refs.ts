/**
 * A .env file of references (`STRIPE_KEY=coffer://project/shop/stripe_key`, or derived values
 * with `{{ coffer://... }}` inside) as the secrets `coffer run --dotenv FILE` injects: every
 * reference resolved in one audited batch, plain values passed through as they are.
 */
import { parseDotenv } from '../dotenv/parse.js';
import type { RunSecret } from '../inject/run-env.js';
import { isReference, type ReferenceVariables } from './reference.js';
import { type ReferenceReader, resolveReferences } from './resolve.js';

/** The variables of a .env text with their references resolved (`file` names it). */
export async function dotenvReferenceSecrets(
  reader: ReferenceReader,
  text: string,
  file: string,
  env: string,
  vars: ReferenceVariables = {},
  inputs?: string[],
): Promise<RunSecret[]> {
  const entries = Object.entries(parseDotenv(text));
  const values = await resolveReferences(
    reader,
    entries.map(([, v]) => v),
    env,
    vars,
    inputs,
  );
  return entries.map(([name, raw], i) => ({
    // Where the value came from, for messages: the secret a whole reference names, else the
    // file and variable (a derived or plain value).
    path: isReference(raw) ? raw : `${file}:${name}`,
    envVar: name,
    value: values[i]!,
  }));
}
