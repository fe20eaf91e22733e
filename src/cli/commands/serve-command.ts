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
import type { Command } from 'commander';
import { CofferError } from '../../core/errors.js';
import { action, type CommonOptions, intOption } from '../action.js';
import { withLocalVault } from '../context.js';
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
}

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
      '--sync-reads',
      'answer a read only once its audit record is on disk (fsync), not just committed',
    )
    .option('--log-level <level>', `log level: ${LOG_LEVELS.join(', ')}`, 'info')
    .addHelpText(
      'after',
      `
Prints the URL on stdout once listening; logs JSON lines on stderr (never tokens or values).
Stops on SIGTERM or SIGINT after the requests in flight are answered.
Every read is audited: its record is committed before the value is sent, and synced to disk
within 10 ms (PostgreSQL: synchronous_commit=off for those records); --sync-reads waits for
the sync before answering. Writes always wait for it.
With COFFER_DATABASE_URL=postgres://... any number of instances serve one PostgreSQL
vault (made with \`coffer init\` under the same URL); a write on one is read on all at once.

Examples:
  coffer token create --name deploy --allow "project/app/*" --env prod --cap read --ttl 30d
  coffer serve --port 8700
  coffer serve --host 0.0.0.0 --tls-cert cert.pem --tls-key key.pem`,
    )
    .action(
      action<ServeOptions>(async (_args, opts, g) => {
        if (!LOG_LEVELS.includes(opts.logLevel)) {
          throw new CofferError('USAGE', `--log-level must be one of ${LOG_LEVELS.join(', ')}`);
        }
        const { checkBinding, startServer } = await import('../../server/http-server.js');
        const binding = {
          host: opts.host,
          port: opts.port,
          tlsCert: opts.tlsCert,
          tlsKey: opts.tlsKey,
          insecureHttp: opts.insecureHttp,
        };
        const warning = checkBinding(binding);
        if (warning !== undefined) warn(warning);
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
            const { app, hotPath } = createApi({
              vault,
              logger,
              version,
              syncReads: opts.syncReads,
            });
            const server = await startServer(app, binding, { hotPath });
            logger.info({ url: server.url, storage: storage.kind, version }, 'listening');
            writeOut(`${server.url}\n`);
            const signal = await waitForSignal();
            logger.info({ signal }, 'shutting down: finishing requests in flight');
            await server.close();
            logger.info('stopped');
            await new Promise<void>((resolve) => logger.flush(() => resolve()));
            return 0;
          },
          { poolSize: PG_POOL_SIZE, groupCommit: true },
        );
      }),
    );
}
