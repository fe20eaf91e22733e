/**
 * The manifest as coffer uses it, after parsing and validation (parse.ts): every default
 * filled in, every value checked by core's rules.
 */

/** Where a variable's value comes from in one environment. */
export type Source =
  | { kind: 'ask' }
  | { kind: 'generate'; spec: string }
  | { kind: 'env'; variable: string }
  | { kind: 'value'; value: string };

export interface ManifestVariable {
  /** The environment-variable name (the key under `variables:`). */
  name: string;
  /** The key path in the vault. */
  path: string;
  description: string;
  /** The section of .env.example it is listed under; null: by tier. */
  group: string | null;
  tier: 1 | 2 | 3 | null;
  sensitive: boolean;
  required: boolean;
  /** Sources by environment; `default` covers the environments not listed. */
  sources: ReadonlyMap<string, Source>;
  rotation: string | null;
  /** How to rotate it at the provider (text or a URL). */
  rotate: string | null;
  /** The variable of the previous value during a rotation's grace window (`previous:`). */
  previous: string | null;
  localOnly: boolean;
}

export interface Manifest {
  /** The file it was read from (for messages). */
  file: string;
  project: string;
  /** The default environment of commands in this directory. */
  env: string | null;
  /** The environments that exist; empty when the manifest does not say. */
  environments: readonly string[];
  allowEnvNames: readonly string[];
  /** In the order of the file. */
  variables: readonly ManifestVariable[];
}

/** The key of `sources` that covers every environment not listed. */
export const DEFAULT_SOURCE_KEY = 'default';

const ASK: Source = { kind: 'ask' };

/** The source of `v` in environment `env`: its own, else the default, else `ask`. */
export function sourceFor(v: ManifestVariable, env: string): Source {
  return v.sources.get(env) ?? v.sources.get(DEFAULT_SOURCE_KEY) ?? ASK;
}

/** The source in its written (YAML) form. */
export function formatSource(s: Source): string | Record<string, string> {
  switch (s.kind) {
    case 'ask':
      return 'ask';
    case 'generate':
      return { generate: s.spec };
    case 'env':
      return { env: s.variable };
    case 'value':
      return { value: s.value };
  }
}
