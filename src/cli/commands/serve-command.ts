/**
 * `coffer serve`: the HTTP API (docs/http-api.md) over this vault, for tokens made with
 * `coffer token create`. It opens the same store the other commands use (the vault file,
 * or the database the context is configured for) and runs until SIGTERM or SIGINT, then
 * finishes the requests in flight before it exits.
 *
 * stdout gets one line, the server's URL, once it listens (scripts read it; `--port 0`
 * picks a free port); stderr gets the JSON log lines. hono, zod and pino are loaded here,
 * inside the action, so they cost nothing to the other commands' start-up.
 */

import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { parseTtl } from '../../core/access/tokens.js';
import { CofferError } from '../../core/errors.js';
import { action, type CommonOptions, intOption } from '../action.js';
import { cofferHome, withLocalVault } from '../context.js';
import { warn, writeOut } from '../output.js';

declare const COFFER_VERSION: string;

interface ServeOptions extends CommonOptions {
  host: string;
  port: number;
  tlsCert?: string;
  tlsKey?: string;
  insecureHttp?: boolean;
  syncReads?: boolean;
  logLevel: string;
  maxConnections: number;
  headersTimeout: number;
  requestTimeout: number;
  trustedProxy?: string[];
  manifest?: string[];
  backupEvery?: string;
  backupDir?: string;
  keep: number;
  backupRecipient?: string[];
  publicUrl?: string;
}

const collect = (value: string, previous: string[] | undefined): string[] => [
  ...(previous ?? []),
  value,
];

/** PostgreSQL connections per instance (COFFER_DATABASE_URL): writers queue in memory. */
const PG_POOL_SIZE = 10;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'silent'];

function waitForSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals) => {
      process.off('SIGTERM', on);
      process.off('SIGINT', on);
      resolve(signal);
    };
    process.on('SIGTERM', on);
    process.on('SIGINT', on);
  });
}

/** The scheduled backups asked for, checked before the vault is opened; undefined: none. */
function backupPlan(opts: ServeOptions) {
  if (opts.backupEvery === undefined) {
    if (opts.backupDir !== undefined || opts.backupRecipient !== undefined) {
      throw new CofferError('USAGE', '--backup-dir and --backup-recipient need --backup-every');
    }
    return undefined;
  }
  const everyMs = parseTtl(opts.backupEvery);
  if (everyMs < 60_000) {
    throw new CofferError('USAGE', '--backup-every must be at least 1m');
  }
  const recipients = opts.backupRecipient ?? [];
  const passphrase = process.env.COFFER_BACKUP_PASSPHRASE ?? '';
  if (recipients.length === 0 && passphrase === '') {
    throw new CofferError('USAGE', 'scheduled backups need a passphrase or a recipient', {
      hint: 'Set COFFER_BACKUP_PASSPHRASE, or pass --backup-recipient age1... (an age public key).',
    });
  }
  const dir = resolve(opts.backupDir ?? join(cofferHome(), 'backups'));
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return {
    everyMs,
    dir,
    keep: opts.keep,
    encryption: recipients.length > 0 ? { recipients } : { passphrase },
  };
}

export function serveCommand(program: Command): void {
  program
    .command('serve')
    .description('serve the HTTP API to token holders (see `coffer token create`)')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0: any free port)', intOption('--port', 0), 8700)
    .option('--tls-cert <file>', 'PEM certificate (chain): serve HTTPS')
    .option('--tls-key <file>', 'PEM private key of --tls-cert')
    .option('--insecure-http', 'allow plain HTTP on an address other than loopback')
    .option(
      '--public-url <url>',
      "the address users reach this server at (behind a proxy or load balancer): agents' request_secret pages are served for its host only",
    )
    .option(
      '--sync-reads',
      'answer a read only once its audit record is on disk (fsync), not just committed',
    )
    .option('--log-level <level>', `log level: ${LOG_LEVELS.join(', ')}`, 'info')
    .option(
      '--max-connections <n>',
      'connections open at once, at most; more are answered 503 and closed',
      intOption('--max-connections', 1),
      512,
    )
    .option(
      '--headers-timeout <seconds>',
      'time a client has to send the headers of a request',
      intOption('--headers-timeout', 1),
      10,
    )
    .option(
      '--request-timeout <seconds>',
      'time a client has to send a whole request, body included',
      intOption('--request-timeout', 1),
      30,
    )
    .option(
      '--trusted-proxy <cidr>',
      'a reverse proxy (address or subnet, IPv4 or IPv6) whose X-Forwarded-For names the client; repeatable',
      collect,
    )
    .option(
      '--manifest <file>',
      "a project's coffer.yaml whose status (missing, extra) the web UI shows; repeatable",
      collect,
    )
    .option('--backup-every <interval>', 'take a backup every interval (e.g. 24h, 6h, 7d)')
    .option('--backup-dir <dir>', 'where scheduled backups go (default: $COFFER_HOME/backups)')
    .option(
      '--keep <n>',
      'scheduled backups to keep, the newest (default 7)',
      intOption('--keep', 1),
      7,
    )
    .option(
      '--backup-recipient <age1...>',
      'encrypt scheduled backups to this age recipient (repeatable; else COFFER_BACKUP_PASSPHRASE)',
      collect,
    )
    .addHelpText(
      'after',
      `
Prints the URL on stdout once listening; logs JSON lines on stderr (never tokens or values).
Stops on SIGTERM or SIGINT after the requests in flight are answered.
Failed authentications are limited per client address (10 per minute, then 429 for what is
left of the minute; valid tokens are still served) and audited: the first of each address
and minute at once, the rest as one record with a count. The client address is the TCP peer;
behind a reverse proxy, name it with --trusted-proxy so that X-Forwarded-For is used (only
from those peers: the right-most entry that is not a trusted proxy).
Every read is audited: its record is committed before the value is sent, and synced to disk
within 10 ms (PostgreSQL: synchronous_commit=off for those records); --sync-reads waits for
the sync before answering. Writes always wait for it.
With COFFER_DATABASE_URL=postgres://... any number of instances serve one PostgreSQL
vault (made with \`coffer init\` under the same URL); a write on one is read on all at once.

Examples:
  coffer token create --name deploy --allow "project/app/*" --env prod --cap read --ttl 30d
  coffer serve --port 8700
  coffer serve --host 0.0.0.0 --tls-cert cert.pem --tls-key key.pem
  coffer serve --trusted-proxy 10.0.0.0/8 --trusted-proxy fd00::/8
  COFFER_BACKUP_PASSPHRASE=... coffer serve --backup-every 24h --backup-dir /srv/backups --keep 7

Scheduled backups are those of \`coffer backup\` (encrypted with age, 0600, audited), written
as coffer-backup-<UTC time>.age; the oldest beyond --keep are removed, other files never.`,
    )
    .action(
      action<ServeOptions>(async (_args, opts, g) => {
        if (!LOG_LEVELS.includes(opts.logLevel)) {
          throw new CofferError('USAGE', `--log-level must be one of ${LOG_LEVELS.join(', ')}`);
        }
        const { checkBinding, startServer } = await import('../../server/http-server.js');
        const { checkLimits } = await import('../../server/connection-guards.js');
        const { trustedProxies } = await import('../../server/client-address.js');
        const limits = checkLimits({
          maxConnections: opts.maxConnections,
          headersTimeoutMs: opts.headersTimeout * 1000,
          requestTimeoutMs: opts.requestTimeout * 1000,
        });
        const proxies = opts.trustedProxy ?? [];
        trustedProxies(proxies); // refuses a malformed CIDR before the vault is opened
        const binding = {
          host: opts.host,
          port: opts.port,
          tlsCert: opts.tlsCert,
          tlsKey: opts.tlsKey,
          insecureHttp: opts.insecureHttp,
        };
        const warning = checkBinding(binding);
        if (warning !== undefined) warn(warning);
        const backups = backupPlan(opts);
        return withLocalVault(
          'coffer serve',
          g,
          async ({ vault, storage }) => {
            const { createApi } = await import('../../server/app.js');
            const { boundHeap } = await import('../../server/heap-limits.js');
            boundHeap();
            const { createLogger } = await import('../../server/logger.js');
            const logger = createLogger({ level: opts.logLevel });
            const version = typeof COFFER_VERSION === 'string' ? COFFER_VERSION : '0.0.0-dev';
            const api = createApi({
              vault,
              logger,
              version,
              syncReads: opts.syncReads,
              trustedProxies: proxies,
              ui: { manifests: (opts.manifest ?? []).map((f) => resolve(f)) },
              publicUrl: publicUrlOf(opts.publicUrl),
            });
            const server = await startServer(api.app, binding, {
              hotPath: api.hotPath,
              ...limits,
            });
            logger.info({ url: server.url, storage: storage.kind, version }, 'listening');
            writeOut(`${server.url}\n`);
            const schedule =
              backups === undefined
                ? undefined
                : (await import('../../core/backup/scheduled.js')).scheduleBackups({
                    ...backups,
                    vault: vault.withActor('coffer:serve'),
                    onBackup: (r) => {
                      logger.info(
                        { file: r.file, counts: r.header.counts, removed: r.removed },
                        'backup written',
                      );
                      for (const t of r.tokensBeyondCaps) {
                        logger.warn(
                          { token: t.name, reason: t.reason },
                          'a token has path globs beyond what a token may hold now: a restore of this backup brings it back revoked; give its holder a new token within the limits (at most 64 globs of at most three segments besides ** each), then revoke this one',
                        );
                      }
                      if (r.future.length > 0) {
                        logger.warn(
                          { future: r.future },
                          'backups named for a later time than now (the clock was ahead) are not pruned: check and remove them by hand',
                        );
                      }
                    },
                    onError: (err) =>
                      logger.error(
                        { code: err instanceof CofferError ? err.code : 'INTERNAL' },
                        `backup failed: ${err instanceof CofferError ? err.message : 'internal error'}`,
                      ),
                  });
            const signal = await waitForSignal();
            logger.info({ signal }, 'shutting down: finishing requests in flight');
            await schedule?.stop();
            await server.close();
            await api.close();
            logger.info('stopped');
            await new Promise<void>((resolve) => logger.flush(() => resolve()));
            return 0;
          },
          { poolSize: PG_POOL_SIZE, groupCommit: true },
        );
      }),
    );
}

/** --public-url: an http(s) origin (no path, query or credentials); undefined when absent. */
function publicUrlOf(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (
    url === undefined ||
    (url.protocol !== 'https:' && url.protocol !== 'http:') ||
    url.username !== '' ||
    url.password !== '' ||
    url.search !== '' ||
    url.hash !== '' ||
    (url.pathname !== '/' && url.pathname !== '')
  ) {
    throw new CofferError('USAGE', '--public-url is an origin such as https://coffer.example.com');
  }
  return url.origin;
}
