/**
 * The shapes the vault's operations take and return (vault.ts re-exports them): results of
 * set, get, list, history, readProject and verify. None of them carries a value except
 * SecretValue and ProjectSecret, which are what a read is for.
 */
import type { ErrorCode } from '../errors.js';
import type { SecretMetadata, SecretRecord } from './storage.js';

export interface VaultOptions {
  /** Who acts: `cli:alice`, `token:deploy`, `mcp:claude-code/1.2`. Goes into the audit log. */
  actor: string;
  /** Clock for timestamps (tests). */
  now?: () => Date;
}

export interface SetOptions {
  description?: string | undefined;
  /** Check-and-set: fail with VERSION_CONFLICT unless the current version is this (0 = new). */
  ifVersion?: number | undefined;
  metadata?: Partial<Omit<SecretMetadata, 'description'>> | undefined;
  /** Store an empty value (refused otherwise with EMPTY_VALUE: usually an unset variable). */
  allowEmpty?: boolean | undefined;
}

export interface SetResult {
  path: string;
  env: string;
  version: number;
  created: boolean;
}

export interface SecretValue {
  path: string;
  env: string;
  version: number;
  value: string;
  description: string;
  createdAt: string;
}

/**
 * A copy of `v` with exactly SecretValue's fields, in this order (written out, not spread:
 * a server runs this once per read it answers, and sends it as the answer's JSON).
 */
export function copySecretValue(v: SecretValue): SecretValue {
  return {
    path: v.path,
    env: v.env,
    version: v.version,
    value: v.value,
    description: v.description,
    createdAt: v.createdAt,
  };
}

/** A secret without its value: what list/describe return. */
export type SecretInfo = Omit<SecretRecord, 'mac'>;

export interface VersionInfo {
  version: number;
  createdAt: string;
  actor: string;
  kekId: string;
}

/** A secret as injected into a program or a .env file. */
export interface ProjectSecret {
  path: string;
  name: string;
  /** The environment-variable name: metadata `envVar`, or the name uppercased. */
  envVar: string;
  version: number;
  value: string;
  localOnly: boolean;
}

export interface VerifyItem {
  path: string;
  env: string;
  version: number;
  ok: boolean;
  code?: ErrorCode;
}

export interface VerifyReport {
  ok: boolean;
  checked: number;
  failures: VerifyItem[];
  keyFailures: string[];
  /**
   * Stored rows whose MAC fails, as `table key` (e.g. `tokens 1f2e...`): set by a check of
   * the whole vault (`verify --all`) only; a check of one path fails on its row instead.
   */
  rowFailures?: string[];
}

/** One read of `getMany`: a secret (latest or a given version) read on behalf of `actor`. */
export interface ReadRequest {
  path: string;
  env: string;
  version?: number | undefined;
  /** Who reads, for the audit log (default: the vault's actor). */
  actor?: string | undefined;
}

/** The outcome of one read of `getMany`: its value, or the error it alone failed with. */
export type ReadOutcome = { ok: true; value: SecretValue } | { ok: false; error: unknown };
