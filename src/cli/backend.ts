/**
 * What the CLI's secret commands need from a vault, as one small interface with two
 * implementations: the local vault file (here) and a `coffer serve` server through
 * `coffer/client` (remote-backend.ts, loaded only when COFFER_URL is set). context.ts
 * chooses between them (`withBackend`); commands call only these methods, so their output
 * and exit codes are the same in both modes.
 *
 * Commands that act on the vault file itself (init, key, describe, delete, restore,
 * env import, generate --store) stay local and refuse to run in remote mode, rather than
 * quietly opening a local vault while COFFER_URL names another.
 */
import { type AuditVerifyResult, readAudit, verifyAudit } from '../core/audit/log.js';
import { CofferError } from '../core/errors.js';
import type { GraceValue } from '../core/rotation/grace.js';
import type { AuditRecord, SecretMetadata } from '../core/store/storage.js';
import type {
  ProjectSecret,
  ReadOutcome,
  ReadRequest,
  SecretInfo,
  SecretValue,
  SetResult,
  VerifyReport,
  VersionInfo,
} from '../core/store/vault.js';
import type { OpenVault } from './context.js';

/** The operations of get, set, list, history, run, env pull, verify and audit. */
export interface SecretsBackend {
  /** True when the operations go to a server (COFFER_URL). */
  readonly remote: boolean;
  get(path: string, env: string, options: { version?: number | undefined }): Promise<SecretValue>;
  /** Several reads, each with its own outcome (a missing one fails alone). */
  readMany(requests: readonly ReadRequest[]): Promise<ReadOutcome[]>;
  set(
    path: string,
    env: string,
    value: string,
    options: {
      description?: string | undefined;
      ifVersion?: number | undefined;
      allowEmpty?: boolean | undefined;
      /** Stored with the version (setup writes the manifest's tier, rotation, ...). */
      metadata?: Partial<Omit<SecretMetadata, 'description'>> | undefined;
    },
  ): Promise<SetResult>;
  /** `env` undefined: every environment. */
  list(options: {
    prefix?: string | undefined;
    env?: string | undefined;
    includeDeleted?: boolean;
  }): Promise<SecretInfo[]>;
  /** One secret's metadata, deleted or not. */
  info(path: string, env: string): Promise<SecretInfo>;
  history(path: string, env: string): Promise<{ secret: SecretInfo; versions: VersionInfo[] }>;
  /** Every live secret of a project with its value; `purpose` goes into the audit log. */
  readProject(project: string, env: string, purpose: string): Promise<ProjectSecret[]>;
  /**
   * The previous values a rotation's grace window keeps injected under their `previous:`
   * names (local vault only; a server does not offer them yet).
   */
  graceValues?(project: string, env: string): Promise<GraceValue[]>;
  /** `path` undefined: everything (`verify --all`); `env` undefined: every environment. */
  verify(path: string | undefined, env: string | undefined): Promise<VerifyReport>;
  /** The newest `limit` audit records (default 100), oldest first. */
  audit(options: { limit?: number; path?: string }): Promise<AuditRecord[]>;
  auditVerify(): Promise<AuditVerifyResult>;
  close(): Promise<void>;
}

/** The local vault file as a backend. */
export function localBackend(opened: OpenVault): SecretsBackend {
  const { vault } = opened;
  return {
    remote: false,
    get: (path, env, options) => vault.get(path, env, options),
    readMany: (requests) => vault.getMany(requests),
    set: (path, env, value, options) => vault.set(path, env, value, options),
    list: (options) => vault.list(options),
    info: (path, env) => vault.info(path, env),
    history: (path, env) => vault.history(path, env),
    readProject: (project, env, purpose) => vault.readProject(project, env, purpose),
    graceValues: async (project, env) => {
      const { graceValues } = await import('../core/rotation/grace.js');
      return graceValues(vault, project, env);
    },
    verify: (path, env) => vault.verify(path, env),
    audit: (options) => readAudit(vault, options),
    auditVerify: () => verifyAudit(vault),
    close: () => opened.close(),
  };
}

/** True when COFFER_URL is set: the secret commands talk to a server. */
export function isRemoteMode(): boolean {
  return (process.env.COFFER_URL ?? '') !== '';
}

/** The error for what cannot be done through the server. */
export function notInRemoteMode(what: string): CofferError {
  return new CofferError('USAGE', `${what} is not available in remote mode (COFFER_URL is set)`, {
    hint: 'Run it where the vault is, or unset COFFER_URL to use the local vault.',
  });
}

/** For commands that act on the local vault file only. */
export function assertLocalMode(what: string): void {
  if (isRemoteMode()) throw notInRemoteMode(what);
}
