/**
 * `createClient({ url, token })`: one typed method per route of docs/http-api.md.
 *
 * Arguments are checked with the core's own grammar (key paths, environments, prefixes)
 * before any request, so a wrong path fails the same way as locally (INVALID_PATH with a
 * suggestion) and nothing odd is ever put into a URL. Answers are checked field by field
 * (answers.ts). Errors are CofferErrors (transport.ts); none contains the token.
 */
import { isAbsolute } from 'node:path';
import { parseAgentLabel } from '../core/access/agent-label.js';
import { CofferError } from '../core/errors.js';
import { isLoopback } from '../core/loopback.js';
import { parseEnvironment, parseKeyPath, parsePathPrefix } from '../core/paths.js';
import type { SecretRequestView } from '../core/requests/secret-requests.js';
import type { RotationStatusReport } from '../core/rotation/status.js';
import { items, read } from './answers.js';
import { type Answer, type RequestOptions, request, type Transport } from './transport.js';
import type {
  AuditOptions,
  AuditPage,
  AuditVerifyAnswer,
  CheckSetOptions,
  ClientOptions,
  CreatedToken,
  DeleteResult,
  EnvOption,
  FileWriteEntry,
  GetOptions,
  History,
  LeakOpened,
  ListOptions,
  ProjectSecret,
  RestoreResult,
  RotationStatusOptions,
  SecretInfo,
  SecretValue,
  SetChecked,
  SetOptions,
  SetResult,
  ShownAuditRecord,
  TokenInfo,
  TokenRequest,
  VerifyReport,
} from './types.js';

/** A client bound to one server and token. Every method rejects with a CofferError. */
export interface CofferClient {
  /** The server's base URL, as used in messages (never with the token). */
  readonly url: string;
  health(): Promise<{ ok: boolean }>;
  /** The OpenAPI 3.1 document of the server. */
  openApi(): Promise<Record<string, unknown>>;
  getSecret(path: string, options?: GetOptions): Promise<SecretValue>;
  setSecret(path: string, value: string, options?: SetOptions): Promise<SetResult>;
  /**
   * Whether the stored secret would accept a set with these options, before its value is
   * asked for: rejects as `setSecret` would whatever the value (INVALID_DESCRIPTION for a new
   * secret without a description, VERSION_CONFLICT, FORBIDDEN). Takes no value, stores
   * nothing. A server older than the check answers ROUTE_NOT_FOUND.
   */
  checkSetSecret(path: string, options?: CheckSetOptions): Promise<SetChecked>;
  /** Metadata only, never values. */
  listSecrets(options?: ListOptions): Promise<SecretInfo[]>;
  deleteSecret(path: string, options?: EnvOption): Promise<DeleteResult>;
  restoreSecret(path: string, options?: EnvOption): Promise<RestoreResult>;
  history(path: string, options?: EnvOption): Promise<History>;
  verify(path: string, options?: EnvOption): Promise<VerifyReport>;
  /** Every live secret of a project the token may read, with values (what `run` injects). */
  readProject(project: string, options?: EnvOption): Promise<ProjectSecret[]>;
  /**
   * Up to `limit` (default 100) audit records after `afterSeq` within the token's policy,
   * oldest first; fewer only at the end of the log. The server reads a bounded part of the log
   * per request, so for a token that sees few records this may take several requests.
   */
  audit(options?: AuditOptions): Promise<ShownAuditRecord[]>;
  /**
   * One request for audit records: up to `limit` after `afterSeq`, and the `afterSeq` to go on
   * from (null at the end of the log). A short or empty page with a cursor is not the end.
   */
  auditPage(options?: AuditOptions): Promise<AuditPage>;
  auditVerify(): Promise<AuditVerifyAnswer>;
  listTokens(): Promise<TokenInfo[]>;
  createToken(token: TokenRequest): Promise<CreatedToken>;
  revokeToken(name: string): Promise<{ name: string; revoked: true }>;
  /** The rotation status of what the token may list (names and dates, never values). */
  rotationStatus(options?: RotationStatusOptions): Promise<RotationStatusReport>;
  /** Opens (or resumes) an incident on a leaked secret; `where` never holds the value. */
  reportLeak(path: string, where: string, options?: EnvOption): Promise<LeakOpened>;
  /** Records which secrets were written into `file` (absolute); returns how many. */
  recordFileWrite(file: string, secrets: readonly FileWriteEntry[], via: string): Promise<number>;
  /**
   * Opens a request for a value only the user has (`request_secret` in remote mode): the
   * answer's `url` is a one-time page on the server for the user (shown once).
   */
  createRequest(request: SecretRequestBody): Promise<{ request: SecretRequestView; url: string }>;
  /** The state of a request this token made; never a value. */
  requestStatus(id: string): Promise<SecretRequestView>;
  /** Withdraws a request this token made. */
  declineRequest(id: string): Promise<SecretRequestView>;
}

/** What `createRequest` sends. */
export interface SecretRequestBody {
  keyPath: string;
  description: string;
  env?: string | undefined;
  writeEnv?: string | undefined;
}

const DEFAULT_TIMEOUT_MS = 30_000;
/** Shorter values occur in ordinary messages by chance; servers never echo values anyway. */
const MIN_SCRUBBED_VALUE = 4;

/** Checks the URL and token and builds the transport; messages never show the token. */
function transportFor(options: ClientOptions): Transport {
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw new CofferError('INVALID_ARGUMENT', 'the coffer server URL (COFFER_URL) is not a URL', {
      hint: 'Use the form https://coffer.example.com or http://127.0.0.1:8700.',
    });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new CofferError('INVALID_ARGUMENT', 'the coffer server URL must start with https://');
  }
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    throw new CofferError(
      'INVALID_ARGUMENT',
      'the coffer server URL must not hold a user name, password, query or fragment',
      { hint: 'Put the token in COFFER_TOKEN and only the address in COFFER_URL.' },
    );
  }
  if (url.protocol === 'http:' && !isLoopback(url.hostname) && options.insecureHttp !== true) {
    throw new CofferError(
      'INVALID_ARGUMENT',
      `refusing to send a token in clear text to ${url.origin}`,
      {
        hint: 'Use https://, or allow plain http on a trusted network (COFFER_INSECURE_HTTP=1).',
      },
    );
  }
  const token = options.token;
  // fetch would name an invalid header value in its own error; refuse it here, unnamed.
  if (typeof token !== 'string' || !/^[!-~]{1,1024}$/.test(token)) {
    throw new CofferError(
      'UNAUTHENTICATED',
      'the token (COFFER_TOKEN) is empty or holds spaces or characters a token never has',
    );
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1) {
    throw new CofferError('INVALID_ARGUMENT', 'timeoutMs must be a whole number >= 1');
  }
  return {
    base: `${url.origin}${url.pathname.replace(/\/+$/, '')}`,
    token,
    fetch: options.fetch ?? ((u, init) => fetch(u, init)),
    timeoutMs,
    // A server that echoes the token, or its secret part, has its message dropped.
    secrets: [token, ...token.split('_').filter((part) => part.length >= 16)],
    ...(options.agent === undefined ? {} : { agent: parseAgentLabel(options.agent) }),
  };
}

function env(options: EnvOption | undefined): string | undefined {
  return options?.env === undefined ? undefined : parseEnvironment(options.env);
}

function secretRoute(path: string, suffix = ''): string {
  return `/v1/secrets/${parseKeyPath(path).path}${suffix}`;
}

/** What `GET /v1/audit` returns when no limit is given. */
const AUDIT_DEFAULT_LIMIT = 100;

function checkAuditOptions(o: AuditOptions): void {
  for (const [name, n] of [
    ['afterSeq', o.afterSeq],
    ['limit', o.limit],
  ] as const) {
    if (n !== undefined && (!Number.isSafeInteger(n) || n < 0)) {
      throw new CofferError('INVALID_ARGUMENT', `${name} must be a whole number >= 0`);
    }
  }
}

/** Creates a client for the coffer server at `url`, authenticated by `token`. */
export function createClient(options: ClientOptions): CofferClient {
  const t = transportFor(options);
  const call = (method: string, route: string, o?: RequestOptions): Promise<Answer> =>
    request(t, method, route, o);
  /** One `GET /v1/audit`: its records and cursor (undefined from a server without one). */
  const auditAnswer = async (o: AuditOptions) => {
    const query = { afterSeq: o.afterSeq, limit: o.limit, path: o.path };
    const answer = await call('GET', '/v1/audit', { query });
    return {
      items: items(answer, 'items', read.auditRecord, 'audit'),
      next: read.auditCursor(answer, o.afterSeq ?? 0),
    };
  };
  return {
    url: t.base,
    health: async () => ({ ok: (await call('GET', '/healthz')).ok === true }),
    openApi: () => call('GET', '/v1/openapi.json'),
    getSecret: async (path, o = {}) => {
      const version = o.version;
      if (version !== undefined && (!Number.isSafeInteger(version) || version < 1)) {
        throw new CofferError('INVALID_ARGUMENT', 'the version must be a whole number >= 1');
      }
      return read.secretValue(
        await call('GET', secretRoute(path), { query: { env: env(o), version } }),
      );
    },
    setSecret: async (path, value, o = {}) => {
      if (typeof value !== 'string') throw new TypeError('value must be a string');
      const route = secretRoute(path);
      const body = {
        value,
        description: o.description,
        ifVersion: o.ifVersion,
        ...(o.allowEmpty === true ? { allowEmpty: true } : {}),
        ...(o.metadata !== undefined ? { metadata: o.metadata } : {}),
      };
      const secrets = value.length >= MIN_SCRUBBED_VALUE ? [value] : [];
      return read.setResult(await call('PUT', route, { query: { env: env(o) }, body, secrets }));
    },
    checkSetSecret: async (path, o = {}) => {
      const route = secretRoute(path, '/check-set');
      const body = { description: o.description, ifVersion: o.ifVersion };
      return read.setChecked(await call('POST', route, { query: { env: env(o) }, body }));
    },
    listSecrets: async (o = {}) => {
      const prefix = o.prefix === undefined ? undefined : parsePathPrefix(o.prefix);
      const query = {
        prefix: prefix && (prefix.group ? `${prefix.scope}/${prefix.group}` : prefix.scope),
        env: env(o),
        includeDeleted: o.includeDeleted ? true : undefined,
      };
      return items(await call('GET', '/v1/secrets', { query }), 'items', read.secretInfo, 'list');
    },
    deleteSecret: async (path, o = {}) =>
      read.deleted(await call('DELETE', secretRoute(path), { query: { env: env(o) } })),
    restoreSecret: async (path, o = {}) =>
      read.restored(await call('POST', secretRoute(path, '/restore'), { query: { env: env(o) } })),
    history: async (path, o = {}) =>
      read.history(await call('GET', secretRoute(path, '/history'), { query: { env: env(o) } })),
    verify: async (path, o = {}) =>
      read.verifyReport(
        await call('GET', secretRoute(path, '/verify'), { query: { env: env(o) } }),
      ),
    readProject: async (project, o = {}) => {
      const group = parsePathPrefix(`project/${project}`).group;
      const answer = await call('GET', `/v1/projects/${group}/secrets`, {
        query: { env: env(o) },
      });
      return items(answer, 'items', read.projectSecret, 'project');
    },
    audit: async (o = {}) => {
      checkAuditOptions(o);
      const want = o.limit ?? AUDIT_DEFAULT_LIMIT;
      const out: ShownAuditRecord[] = [];
      let after = o.afterSeq ?? 0;
      for (;;) {
        const page = await auditAnswer({ ...o, afterSeq: after, limit: want - out.length });
        out.push(...page.items);
        // A server older than the cursor filled its pages, short only at the end.
        if (out.length >= want || page.next === undefined || page.next === null) return out;
        after = page.next;
      }
    },
    auditPage: async (o = {}) => {
      checkAuditOptions(o);
      const page = await auditAnswer(o);
      // From a server older than the cursor: go on after the last record until a page is empty.
      const last = page.items.at(-1)?.seq;
      const older = last !== undefined && last > (o.afterSeq ?? 0) ? last : null;
      return { items: page.items, nextAfterSeq: page.next === undefined ? older : page.next };
    },
    auditVerify: async () => read.auditVerify(await call('GET', '/v1/audit/verify')),
    rotationStatus: async (o = {}) => {
      const prefix = o.prefix === undefined ? undefined : parsePathPrefix(o.prefix);
      const query = {
        prefix: prefix && (prefix.group ? `${prefix.scope}/${prefix.group}` : prefix.scope),
        env: env(o),
        dueWithin: o.dueWithin,
      };
      return read.rotationStatus(await call('GET', '/v1/rotation', { query }));
    },
    reportLeak: async (path, where, o = {}) => {
      const route = `/v1/incidents/${parseKeyPath(path).path}`;
      return read.leakOpened(
        await call('POST', route, { query: { env: env(o) }, body: { where } }),
      );
    },
    recordFileWrite: async (file, secrets, via) => {
      if (!isAbsolute(file)) throw new TypeError('file must be an absolute path');
      const body = {
        file,
        via,
        secrets: secrets.map((x) => ({
          path: parseKeyPath(x.path).path,
          env: parseEnvironment(x.env),
          version: x.version,
          ...(x.name !== undefined ? { name: x.name } : {}),
          ...(x.reference !== undefined ? { reference: x.reference } : {}),
        })),
      };
      return read.recorded(await call('POST', '/v1/file-writes', { body }));
    },
    listTokens: async () =>
      items(await call('GET', '/v1/tokens'), 'items', read.tokenInfo, 'tokens'),
    createToken: async (request) =>
      read.createdToken(await call('POST', '/v1/tokens', { body: request })),
    revokeToken: async (name) => {
      const answer = await call('DELETE', `/v1/tokens/${encodeURIComponent(name)}`);
      if (typeof answer.name !== 'string' || answer.revoked !== true) {
        throw new CofferError('SERVER_BAD_RESPONSE', "the server's answer has no valid result");
      }
      return { name: answer.name, revoked: true };
    },
    createRequest: async (request) => {
      const answer = await call('POST', '/v1/requests', { body: request });
      if (typeof answer.url !== 'string' || !/^https?:\/\//.test(answer.url)) {
        throw new CofferError('SERVER_BAD_RESPONSE', "the server's answer has no valid url");
      }
      return { request: read.secretRequest(answer.request), url: answer.url };
    },
    requestStatus: async (id) =>
      read.secretRequest(await call('GET', `/v1/requests/${encodeURIComponent(id)}`)),
    declineRequest: async (id) =>
      read.secretRequest(await call('POST', `/v1/requests/${encodeURIComponent(id)}/decline`)),
  };
}
