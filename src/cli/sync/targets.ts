/**
 * Deploy targets of `coffer sync`: how each one is read, written and pruned without a value
 * ever in argv, in a file, or in a message.
 *
 * - github: `gh secret list --json name`, `gh secret set NAME` with the value on stdin,
 *   `gh secret delete NAME` (write-only secrets: values cannot be compared). Where `gh` is
 *   not installed and a token is given (GITHUB_TOKEN, GH_TOKEN or --token-from), the REST
 *   API instead: `GET .../actions/secrets/public-key`, each value sealed to that key
 *   (libsodium's sealed box, sealed-box.ts) and `PUT .../actions/secrets/{name}` with
 *   `{encrypted_value, key_id}`; `GET .../actions/secrets` (pages), `DELETE` (COFFER_GITHUB_API_URL).
 * - fly: `fly secrets list --json`, `fly secrets import` with NAME=VALUE lines on stdin,
 *   `fly secrets unset NAME...` (write-only too).
 * - heroku: the Platform API, `GET`/`PATCH /apps/{app}/config-vars` (one PATCH sets or removes
 *   every variable at once; null removes).
 * - render: the REST API, `GET /services/{id}/env-vars` (cursor pages),
 *   `PUT`/`DELETE /services/{id}/env-vars/{key}`.
 * - railway: the public GraphQL API, `variables`, `variableCollectionUpsert`, `variableDelete`.
 *
 * The CLIs of Heroku, Railway and Render take values only in argv, so their HTTP APIs are
 * used, with the token from the environment (HEROKU_API_KEY, RENDER_API_KEY, RAILWAY_TOKEN) or
 * a secret in the vault (--token-from PATH). API base URLs can be pointed elsewhere
 * (COFFER_HEROKU_API_URL, COFFER_RENDER_API_URL, COFFER_RAILWAY_API_URL), for a proxy or a
 * test stand-in. A failure names the variables not pushed; output of the tools is not
 * repeated (it is theirs to print).
 */
import { spawn } from 'node:child_process';
import { CofferError } from '../../core/errors.js';
import type { ExportVariable } from '../../core/export/formats.js';
import { childEnvironment } from '../../core/inject/child-env.js';
import { onPath } from '../on-path.js';
import { sealBox } from './sealed-box.js';

export const SYNC_TARGETS = ['github', 'fly', 'heroku', 'render', 'railway'] as const;
export type SyncTargetName = (typeof SYNC_TARGETS)[number];

export interface SyncTarget {
  /** `github owner/repo`, `heroku my-app`: for messages and the audit record. */
  readonly label: string;
  /**
   * Labels earlier versions recorded for this same target (gh's "this repository", a repository
   * name in another case): syncs recorded under them count for --prune too.
   */
  readonly formerLabels?: readonly string[];
  /** Names the target holds, with their values where it returns them. */
  read(): Promise<Map<string, string | undefined>>;
  set(vars: readonly ExportVariable[]): Promise<void>;
  remove(names: readonly string[]): Promise<void>;
}

export interface TargetOptions {
  repo?: string | undefined;
  app?: string | undefined;
  service?: string | undefined;
  railwayProject?: string | undefined;
  railwayEnvironment?: string | undefined;
  /** The API token (HTTP targets). */
  token?: string | undefined;
}

/** A push that failed part way: `notPushed` names what did not reach the target. */
export class PartialPushError extends CofferError {
  readonly notPushed: readonly string[];
  constructor(label: string, names: readonly string[], why: string) {
    super('IO_ERROR', `${label}: ${why}; not pushed: ${names.join(', ')}`, {
      hint: 'Fix the cause and run the same coffer sync again: it pushes what is missing.',
    });
    this.notPushed = [...names];
  }
}

/** The error of a push that failed part way: what was not pushed, by name. */
export function notPushed(label: string, names: readonly string[], why: string): CofferError {
  return new PartialPushError(label, names, why);
}

interface Ran {
  code: number;
  stdout: string;
}

/** Runs a tool with `input` on its stdin; the value never goes anywhere else. */
function runTool(cmd: string, args: readonly string[], input: string, label: string): Promise<Ran> {
  return new Promise((resolve, reject) => {
    // The tool gets coffer's environment without coffer's credentials, like any child.
    const child = spawn(cmd, args, {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: childEnvironment(process.env),
    });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.on('error', (err: NodeJS.ErrnoException) =>
      reject(
        new CofferError(
          'DEPENDENCY_MISSING',
          err.code === 'ENOENT'
            ? `${label}: ${cmd} is not installed (or not on PATH)`
            : `${label}: ${cmd} failed to start`,
          { hint: `Install ${cmd} and log in, then run coffer sync again.` },
        ),
      ),
    );
    child.on('close', (code) => resolve({ code: code ?? 1, stdout }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

function parseNames(stdout: string, label: string): Map<string, string | undefined> {
  let rows: unknown;
  try {
    rows = JSON.parse(stdout === '' ? '[]' : stdout);
  } catch {
    throw new CofferError('IO_ERROR', `${label}: the secret list is not JSON`);
  }
  const out = new Map<string, string | undefined>();
  for (const r of Array.isArray(rows) ? rows : []) {
    const name = (r as { name?: unknown; Name?: unknown }).name ?? (r as { Name?: unknown }).Name;
    if (typeof name === 'string') out.set(name, undefined);
  }
  return out;
}

/** A segment of a repository's name: never `.` or `..`, which a URL path would resolve. */
const SEGMENT = String.raw`(?!\.\.?(?:/|$))[A-Za-z0-9_.-]+`;
const OWNER_NAME = new RegExp(`^${SEGMENT}/${SEGMENT}$`);
/** What gh's --repo takes: OWNER/NAME, or HOST/OWNER/NAME for GitHub Enterprise. */
const GH_REPO = new RegExp(`^(?:(?!\\.\\.?/)[A-Za-z0-9.-]+/)?${SEGMENT}/${SEGMENT}$`);

/**
 * The repository gh works on here without --repo (its own resolution: the clone's remotes
 * and `gh repo set-default`), as OWNER/NAME: the target's label names it, so that syncs
 * to two repositories are never taken for syncs to one (--prune reads them back by label).
 */
async function ghRepository(): Promise<string> {
  const label = 'github';
  const r = await runTool(
    'gh',
    ['repo', 'view', '--json', 'nameWithOwner', '--jq', '.nameWithOwner'],
    '',
    label,
  );
  const repo = r.stdout.trim();
  if (r.code !== 0 || !OWNER_NAME.test(repo)) {
    throw new CofferError(
      'USAGE',
      `github: gh cannot tell which repository this is (gh repo view ${r.code !== 0 ? `exit ${r.code}` : 'gave no OWNER/NAME'})`,
      { hint: 'Run coffer sync in a clone of the repository, or pass --repo OWNER/NAME.' },
    );
  }
  return repo;
}

async function github(o: TargetOptions): Promise<SyncTarget> {
  if (!onPath('gh', { path: process.env.PATH, executable: true })) {
    if (o.token !== undefined && o.token !== '') return githubApi(o, o.token);
    throw new CofferError('DEPENDENCY_MISSING', 'github: gh is not installed (or not on PATH)', {
      hint: 'Install gh and log in, or give a token with access to the repository secrets (GITHUB_TOKEN or --token-from PATH) and --repo OWNER/NAME.',
    });
  }
  if (o.repo !== undefined && !GH_REPO.test(o.repo)) {
    throw new CofferError('USAGE', `--repo ${o.repo.slice(0, 100)} is not [HOST/]OWNER/NAME`);
  }
  const named = o.repo ?? (await ghRepository());
  const repo = ['--repo', named];
  // GitHub names are case-insensitive: one label for Acme/App and acme/app.
  const label = `github ${named.toLowerCase()}`;
  const formerLabels = [
    `github ${named}`,
    ...(o.repo === undefined ? ['github (this repository)'] : []),
  ].filter((l) => l !== label);
  return {
    label,
    formerLabels,
    async read() {
      const r = await runTool('gh', ['secret', 'list', ...repo, '--json', 'name'], '', label);
      if (r.code !== 0)
        throw new CofferError('IO_ERROR', `${label}: gh secret list failed (exit ${r.code})`);
      return parseNames(r.stdout, label);
    },
    async set(vars) {
      // `gh secret set` trims the line breaks at the end of what it reads (a PEM key's final
      // newline): such values go through the API, which keeps every byte, or not at all.
      const trimmed = vars.filter((v) => /[\r\n]$/.test(v.value));
      if (trimmed.length > 0) {
        if (o.token !== undefined && o.token !== '') {
          return githubApi({ ...o, repo: named }, o.token).set(vars);
        }
        throw new CofferError(
          'INVALID_VALUE',
          `${label}: gh secret set would drop the line break at the end of ${trimmed.map((v) => v.name).join(', ')}; nothing was pushed`,
          {
            hint: 'Give a token with access to the repository secrets (GITHUB_TOKEN or --token-from PATH): coffer then pushes through the API, which keeps every byte.',
          },
        );
      }
      for (const [i, v] of vars.entries()) {
        const r = await runTool('gh', ['secret', 'set', v.name, ...repo], v.value, label);
        if (r.code !== 0) {
          throw notPushed(
            label,
            vars.slice(i).map((x) => x.name),
            `gh secret set failed (exit ${r.code})`,
          );
        }
      }
    },
    async remove(names) {
      for (const [i, n] of names.entries()) {
        const r = await runTool('gh', ['secret', 'delete', n, ...repo], '', label);
        if (r.code !== 0) {
          throw new CofferError(
            'IO_ERROR',
            `${label}: gh secret delete failed (exit ${r.code}); not removed: ${names.slice(i).join(', ')}`,
          );
        }
      }
    },
  };
}

/** GitHub Actions secrets through the REST API, each value sealed to the repository's key. */
function githubApi(o: TargetOptions, token: string): SyncTarget {
  const repo = need(o.repo, '--repo OWNER/NAME (gh is not installed)', 'github');
  if (!OWNER_NAME.test(repo)) {
    throw new CofferError('USAGE', `--repo ${repo.slice(0, 100)} is not OWNER/NAME`);
  }
  const label = `github ${repo}`;
  const base = `${apiBase('COFFER_GITHUB_API_URL', 'https://api.github.com')}/repos/${repo}/actions/secrets`;
  const headers = { accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28' };
  return {
    label,
    async read() {
      const out = new Map<string, string | undefined>();
      for (let page = 1; page < 1000; page++) {
        const r = (await http(
          label,
          'GET',
          `${base}?per_page=100&page=${page}`,
          token,
          undefined,
          headers,
        )) as {
          secrets?: { name?: unknown }[];
        };
        const rows = Array.isArray(r?.secrets) ? r.secrets : [];
        for (const row of rows) if (typeof row.name === 'string') out.set(row.name, undefined);
        if (rows.length < 100) break;
      }
      return out;
    },
    async set(vars) {
      if (vars.length === 0) return;
      let key: { key_id: string; key: Uint8Array };
      try {
        const k = (await http(label, 'GET', `${base}/public-key`, token, undefined, headers)) as {
          key_id?: unknown;
          key?: unknown;
        };
        if (typeof k?.key_id !== 'string' || typeof k.key !== 'string') {
          throw new CofferError(
            'SERVER_BAD_RESPONSE',
            `${label}: the public key answer is malformed`,
          );
        }
        const bytes = new Uint8Array(Buffer.from(k.key, 'base64'));
        if (bytes.length !== 32) {
          throw new CofferError('SERVER_BAD_RESPONSE', `${label}: the public key is not 32 bytes`);
        }
        key = { key_id: k.key_id, key: bytes };
      } catch (err) {
        const why = err instanceof Error ? err.message : 'the public key could not be read';
        throw notPushed(
          label,
          vars.map((v) => v.name),
          why,
        );
      }
      for (const [i, v] of vars.entries()) {
        const sealed = sealBox(Buffer.from(v.value, 'utf8'), key.key);
        try {
          await http(
            label,
            'PUT',
            `${base}/${encodeURIComponent(v.name)}`,
            token,
            { encrypted_value: Buffer.from(sealed).toString('base64'), key_id: key.key_id },
            headers,
          );
        } catch (err) {
          const why = err instanceof Error ? err.message : 'the request failed';
          throw notPushed(
            label,
            vars.slice(i).map((x) => x.name),
            why,
          );
        }
      }
    },
    async remove(names) {
      for (const [i, n] of names.entries()) {
        try {
          await http(
            label,
            'DELETE',
            `${base}/${encodeURIComponent(n)}`,
            token,
            undefined,
            headers,
          );
        } catch (err) {
          const why = err instanceof Error ? err.message : 'the request failed';
          throw new CofferError('IO_ERROR', `${why}; not removed: ${names.slice(i).join(', ')}`);
        }
      }
    },
  };
}

/**
 * What `fly secrets import` reads from `text`: a port of flyctl's parseSecrets
 * (internal/command/secrets/parser.go). Lines are split on LF with one CR dropped at the end
 * (Go's bufio.ScanLines); `#` lines and blank lines are skipped; `NAME=VALUE` with spaces
 * trimmed from the left of VALUE; a VALUE starting with three quotes runs until a later line
 * that ends with three quotes; one pair of surrounding double quotes is removed. Undefined
 * when a value is left open, a line is longer than the scanner's 64 KiB (flyctl would stop
 * reading there without an error), or a value is a lone `"` (flyctl panics removing the pair).
 */
export function flyParse(text: string): Map<string, string> | undefined {
  const out = new Map<string, string>();
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  let open: { key: string; value: string } | undefined;
  for (const raw of lines) {
    if (Buffer.byteLength(raw) >= 64 * 1024) return undefined;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (open !== undefined) {
      if (line.endsWith('"""')) {
        out.set(open.key, open.value + line.slice(0, -3));
        open = undefined;
      } else open.value += `${line}\n`;
      continue;
    }
    if (line.startsWith('#') || line.trim() === '') continue;
    const at = line.indexOf('=');
    if (at < 0) return undefined;
    const key = line.slice(0, at).trim();
    let value = line.slice(at + 1).replace(/^ +/, '');
    if (value.startsWith('"""')) {
      open = { key, value: `${value.slice(3)}\n` };
      continue;
    }
    if (value.startsWith('"') && value.endsWith('"')) {
      // A lone `"` starts and ends with one: flyctl's value[1:0] panics.
      if (value.length < 2) return undefined;
      value = value.slice(1, -1);
    }
    out.set(key, value);
  }
  return open === undefined ? out : undefined;
}

/**
 * A variable as `fly secrets import` reads it back exactly: plain, in double quotes (leading
 * spaces, a value that starts with a quote), or in triple quotes over several lines. The
 * first form flyParse reads back unchanged is used; a value none carries (a CR, a line that
 * ends in three quotes, a line over 64 KiB, a lone `"`) is refused by name before anything is
 * pushed.
 */
export function flyImportLine(v: ExportVariable, label: string): string {
  for (const line of [
    `${v.name}=${v.value}\n`,
    `${v.name}="${v.value}"\n`,
    `${v.name}="""${v.value}"""\n`,
  ]) {
    const back = flyParse(line);
    if (back !== undefined && back.size === 1 && back.get(v.name) === v.value) return line;
  }
  throw new CofferError(
    'INVALID_VALUE',
    `${label}: the value of ${v.name} cannot be passed to fly secrets import unchanged; nothing was pushed`,
    {
      hint: 'fly secrets import drops a CR, cannot end a line of a value with three quotes and crashes on a value that is one double quote; store the value without them, or set it in Fly by hand.',
    },
  );
}

function fly(o: TargetOptions): SyncTarget {
  const app = o.app === undefined ? [] : ['--app', o.app];
  const label = `fly ${o.app ?? '(fly.toml app)'}`;
  return {
    label,
    async read() {
      const r = await runTool('fly', ['secrets', 'list', ...app, '--json'], '', label);
      if (r.code !== 0)
        throw new CofferError('IO_ERROR', `${label}: fly secrets list failed (exit ${r.code})`);
      return parseNames(r.stdout, label);
    },
    async set(vars) {
      if (vars.length === 0) return;
      const input = vars.map((v) => flyImportLine(v, label)).join('');
      const r = await runTool('fly', ['secrets', 'import', ...app], input, label);
      if (r.code !== 0) {
        throw notPushed(
          label,
          vars.map((v) => v.name),
          `fly secrets import failed (exit ${r.code})`,
        );
      }
    },
    async remove(names) {
      if (names.length === 0) return;
      const r = await runTool('fly', ['secrets', 'unset', ...app, ...names], '', label);
      if (r.code !== 0) {
        throw new CofferError(
          'IO_ERROR',
          `${label}: fly secrets unset failed (exit ${r.code}); not removed: ${names.join(', ')}`,
        );
      }
    },
  };
}

function need(value: string | undefined, what: string, target: string): string {
  if (value === undefined || value === '') {
    throw new CofferError('USAGE', `--target ${target} needs ${what}`);
  }
  return value;
}

async function http(
  label: string,
  method: string,
  url: string,
  token: string,
  body?: unknown,
  extra: Record<string, string> = {},
): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...extra,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (err) {
    throw new CofferError('SERVER_UNREACHABLE', `${label}: ${new URL(url).host} is unreachable`, {
      cause: err,
    });
  }
  const text = await res.text();
  if (!res.ok) {
    throw new CofferError(
      'IO_ERROR',
      `${label}: ${method} ${new URL(url).pathname} answered ${res.status}`,
    );
  }
  try {
    return text === '' ? undefined : JSON.parse(text);
  } catch {
    throw new CofferError('SERVER_BAD_RESPONSE', `${label}: the answer is not JSON`);
  }
}

const apiBase = (env: string, fallback: string) =>
  (process.env[env] || fallback).replace(/\/+$/, '');

function heroku(o: TargetOptions): SyncTarget {
  const app = need(o.app, '--app NAME', 'heroku');
  const token = need(o.token, 'a token (HEROKU_API_KEY or --token-from PATH)', 'heroku');
  const label = `heroku ${app}`;
  const url = `${apiBase('COFFER_HEROKU_API_URL', 'https://api.heroku.com')}/apps/${encodeURIComponent(app)}/config-vars`;
  const headers = { accept: 'application/vnd.heroku+json; version=3' };
  return {
    label,
    async read() {
      const vars = (await http(label, 'GET', url, token, undefined, headers)) as Record<
        string,
        unknown
      >;
      return new Map(
        Object.entries(vars ?? {}).map(([k, v]) => [k, typeof v === 'string' ? v : undefined]),
      );
    },
    async set(vars) {
      if (vars.length === 0) return;
      try {
        await http(
          label,
          'PATCH',
          url,
          token,
          Object.fromEntries(vars.map((v) => [v.name, v.value])),
          headers,
        );
      } catch (err) {
        throw notPushed(
          label,
          vars.map((v) => v.name),
          (err as CofferError).message.replace(`${label}: `, ''),
        );
      }
    },
    async remove(names) {
      if (names.length === 0) return;
      await http(
        label,
        'PATCH',
        url,
        token,
        Object.fromEntries(names.map((n) => [n, null])),
        headers,
      );
    },
  };
}

function render(o: TargetOptions): SyncTarget {
  const service = need(o.service, '--service ID (srv-...)', 'render');
  const token = need(o.token, 'a token (RENDER_API_KEY or --token-from PATH)', 'render');
  const label = `render ${service}`;
  const base = `${apiBase('COFFER_RENDER_API_URL', 'https://api.render.com/v1')}/services/${encodeURIComponent(service)}/env-vars`;
  return {
    label,
    async read() {
      const out = new Map<string, string | undefined>();
      let cursor: string | undefined;
      for (let page = 0; page < 1000; page++) {
        const url = `${base}?limit=100${cursor === undefined ? '' : `&cursor=${encodeURIComponent(cursor)}`}`;
        const rows = (await http(label, 'GET', url, token)) as {
          envVar?: { key?: unknown; value?: unknown };
          cursor?: unknown;
        }[];
        if (!Array.isArray(rows) || rows.length === 0) break;
        for (const r of rows) {
          if (typeof r.envVar?.key === 'string') {
            out.set(r.envVar.key, typeof r.envVar.value === 'string' ? r.envVar.value : undefined);
          }
        }
        const last = rows[rows.length - 1]?.cursor;
        if (typeof last !== 'string' || rows.length < 100) break;
        cursor = last;
      }
      return out;
    },
    async set(vars) {
      for (const [i, v] of vars.entries()) {
        try {
          await http(label, 'PUT', `${base}/${encodeURIComponent(v.name)}`, token, {
            value: v.value,
          });
        } catch (err) {
          throw notPushed(
            label,
            vars.slice(i).map((x) => x.name),
            (err as CofferError).message.replace(`${label}: `, ''),
          );
        }
      }
    },
    async remove(names) {
      for (const n of names) await http(label, 'DELETE', `${base}/${encodeURIComponent(n)}`, token);
    },
  };
}

function railway(o: TargetOptions): SyncTarget {
  const ids = {
    projectId: need(o.railwayProject, '--railway-project ID', 'railway'),
    environmentId: need(o.railwayEnvironment, '--railway-environment ID', 'railway'),
    serviceId: need(o.service, '--service ID', 'railway'),
  };
  const token = need(o.token, 'a token (RAILWAY_TOKEN or --token-from PATH)', 'railway');
  const label = `railway ${ids.serviceId}`;
  const url = apiBase('COFFER_RAILWAY_API_URL', 'https://backboard.railway.com/graphql/v2');
  const gql = async (query: string, variables: Record<string, unknown>) => {
    const r = (await http(label, 'POST', url, token, { query, variables })) as {
      data?: Record<string, unknown>;
      errors?: unknown[];
    };
    if (r?.errors !== undefined && r.errors.length > 0) {
      throw new CofferError('IO_ERROR', `${label}: the API refused the request`);
    }
    return r?.data ?? {};
  };
  return {
    label,
    async read() {
      const data = await gql(
        'query ($projectId: String!, $environmentId: String!, $serviceId: String) { variables(projectId: $projectId, environmentId: $environmentId, serviceId: $serviceId) }',
        ids,
      );
      const vars = (data.variables ?? {}) as Record<string, unknown>;
      return new Map(
        Object.entries(vars).map(([k, v]) => [k, typeof v === 'string' ? v : undefined]),
      );
    },
    async set(vars) {
      if (vars.length === 0) return;
      try {
        await gql(
          'mutation ($input: VariableCollectionUpsertInput!) { variableCollectionUpsert(input: $input) }',
          { input: { ...ids, variables: Object.fromEntries(vars.map((v) => [v.name, v.value])) } },
        );
      } catch (err) {
        throw notPushed(
          label,
          vars.map((v) => v.name),
          (err as CofferError).message.replace(`${label}: `, ''),
        );
      }
    },
    async remove(names) {
      for (const name of names) {
        await gql('mutation ($input: VariableDeleteInput!) { variableDelete(input: $input) }', {
          input: { ...ids, name },
        });
      }
    },
  };
}

export function parseTarget(name: string): SyncTargetName {
  if ((SYNC_TARGETS as readonly string[]).includes(name)) return name as SyncTargetName;
  throw new CofferError('USAGE', `unknown sync target ${name.slice(0, 40)}`, {
    hint: `Use one of: ${SYNC_TARGETS.join(', ')}.`,
  });
}

/** The token environment variable of an HTTP target, or undefined for a CLI target. */
export function tokenVariable(name: SyncTargetName): string | undefined {
  return {
    github: 'GITHUB_TOKEN',
    heroku: 'HEROKU_API_KEY',
    render: 'RENDER_API_KEY',
    railway: 'RAILWAY_TOKEN',
  }[name as 'heroku'];
}

export async function makeTarget(name: SyncTargetName, o: TargetOptions): Promise<SyncTarget> {
  switch (name) {
    case 'github':
      return github(o);
    case 'fly':
      return fly(o);
    case 'heroku':
      return heroku(o);
    case 'render':
      return render(o);
    case 'railway':
      return railway(o);
  }
}
