/**
 * The rules for a secret's value and metadata, the same for every front end (CLI, HTTP API,
 * MCP): well-formed Unicode without NUL, at most 64 KiB of UTF-8, not empty unless meant;
 * tier, rotation policy and env-var name within their grammars. Checked before any
 * transaction starts; no message here ever holds the value.
 */
import { CofferError } from '../errors.js';
import { parseGeneratorSpec } from '../generate/spec.js';
import { parseEnvVarName } from '../paths.js';
import { parseRotationPolicy } from '../rotation/policy.js';
import type { SecretMetadata } from './storage.js';

/** Values are limited to 64 KiB of UTF-8. */
export const MAX_VALUE_BYTES: number = 64 * 1024;

// An unpaired surrogate (with the `u` flag a proper pair is one code point, not matched).
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/**
 * The refusal of an empty value for `path` (`env`). `source` says where the value came from
 * when the front end knows (`stdin was empty`), so the message points at the cause: an empty
 * pipe, an unset shell variable, Enter at a prompt.
 */
export function emptyValueError(path: string, env: string, source?: string): CofferError {
  return new CofferError(
    'EMPTY_VALUE',
    `refused to store an empty value at ${path} (${env})${source ? `: ${source}` : ''}`,
  );
}

/**
 * The rule for empty values, the same for every front end (CLI, HTTP API, MCP): an empty
 * value is refused unless the caller says it is meant (`allowEmpty`). An empty value is
 * almost always a mistake (`printf %s "$UNSET" | coffer set ...`, Enter at the prompt) and
 * would silently replace a working secret with nothing.
 */
export function assertValueGiven(
  value: string,
  path: string,
  env: string,
  allowEmpty: boolean | undefined,
  source?: string,
): void {
  if (value === '' && allowEmpty !== true) throw emptyValueError(path, env, source);
}

/** The shortest value checked against the text stored beside it (shorter ones match too much). */
const SHOWN_MIN = 6;

/** Refuses a description that holds the value: descriptions are listed to every lister. */
export function assertDescriptionHidesValue(
  value: string,
  path: string,
  description: string | undefined,
): void {
  if (value.length < SHOWN_MIN || description?.includes(value) !== true) return;
  throw new CofferError(
    'INVALID_DESCRIPTION',
    `the description of ${path} contains the secret's value`,
    {
      hint: 'Descriptions are shown to everyone who may list secrets (agents without reveal too): say what it is for, without the value.',
    },
  );
}

/**
 * Refuses a write that would put the value where it is shown in clear: in the description,
 * or as the environment or the secret's name (in every log line and audit record). An agent
 * that puts the value into the wrong argument is the usual cause. The messages never quote
 * either string.
 */
export function assertValueNotShown(
  value: string,
  key: { path: string; name: string },
  env: string,
  description: string | undefined,
): void {
  if (typeof value !== 'string' || value.length < SHOWN_MIN) return;
  assertDescriptionHidesValue(value, key.path, description);
  if (value === env || value === key.name) {
    throw new CofferError(
      'INVALID_VALUE',
      `the value of ${key.path} is the same as its ${value === env ? 'environment' : 'name'}`,
      {
        hint: 'The environment and the name appear in logs and the audit log; pass the value as the value only.',
      },
    );
  }
}

export function valueBytes(value: string): Uint8Array {
  if (typeof value !== 'string') throw new TypeError('value must be a string');
  // UTF-8 has no form for an unpaired UTF-16 surrogate: Buffer.from would store U+FFFD, and
  // the value would read back different from what was set.
  if (LONE_SURROGATE.test(value)) {
    throw new CofferError(
      'INVALID_VALUE',
      'the value is not well-formed Unicode (it holds an unpaired UTF-16 surrogate)',
    );
  }
  // No program can receive a NUL inside an environment variable or argument; refused here,
  // once, for every front end (a value stored earlier is skipped by `coffer run`).
  if (value.includes('\u0000')) {
    throw new CofferError('INVALID_VALUE', 'the value holds a NUL character (U+0000)', {
      hint: 'Store binary data base64-encoded.',
    });
  }
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length > MAX_VALUE_BYTES) {
    throw new CofferError(
      'VALUE_TOO_LARGE',
      `the value is ${bytes.length} bytes; the limit is ${MAX_VALUE_BYTES} bytes (64 KiB)`,
    );
  }
  return bytes;
}

/** Validates the metadata fields coffer has rules for (tier, rotation policy, env-var name). */
export function checkMetadata<T extends Partial<SecretMetadata>>(patch: T): T {
  const clean = { ...patch };
  if (patch.tier !== undefined && patch.tier !== null && ![1, 2, 3].includes(patch.tier)) {
    throw new CofferError('INVALID_ARGUMENT', 'tier must be 1, 2 or 3');
  }
  if (patch.rotation !== undefined && patch.rotation !== null) {
    clean.rotation = parseRotationPolicy(patch.rotation);
  }
  if (patch.envVar !== undefined && patch.envVar !== null) {
    clean.envVar = parseEnvVarName(patch.envVar);
  }
  if (patch.generator !== undefined && patch.generator !== null) {
    // A spec that regenerates the value the way it was made (rotation relies on it).
    parseGeneratorSpec(patch.generator);
  }
  return clean;
}
