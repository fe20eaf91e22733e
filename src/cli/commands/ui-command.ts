/**
 * `coffer ui`: the web UI for one person on this machine. Serves `coffer serve`'s app on
 * 127.0.0.1 only, and prints a one-time login link (opened in the browser when there is
 * one): its session acts as the local user (`ui:<os user>` in the audit log) with every
 * capability, as the CLI does. The link is good once, for 10 minutes; the session for 8 h.
 *
 * The browser is opened on a private page that holds the link (launch-page.ts), never on the
 * link itself: a launcher's or a browser's argv is readable by every local user. The page is
 * deleted once the link is used, when it expires, and at exit.
 */
import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import { CofferError } from '../../core/errors.js';
import { childEnvironment } from '../../core/inject/child-env.js';
import { action, type CommonOptions, intOption } from '../action.js';
import { cliActor, withLocalVault } from '../context.js';
import { type LaunchPage, writeLaunchPage } from '../launch-page.js';
import { warn, writeOut } from '../output.js';

declare const COFFER_VERSION: string;

interface UiCommandOptions extends CommonOptions {
  port: number;
  host?: string;
  open: boolean;
}

/** Whether this machine has a desktop whose browser a launcher can open. */
function hasDesktop(): boolean {
  return (
    process.platform === 'darwin' ||
    process.platform === 'win32' ||
    process.env.DISPLAY !== undefined ||
    process.env.WAYLAND_DISPLAY !== undefined
  );
}

/**
 * Opens `file` (a launch page, not the link: see above) in the desktop's browser; never
 * fails.
 */
function openBrowser(file: string): void {
  const [cmd, args] =
    process.platform === 'darwin'
      ? ['open', [file]]
      : process.platform === 'win32'
        ? ['cmd', ['/c', 'start', '', file]]
        : ['xdg-open', [file]];
  try {
    const child = spawn(cmd, args, {
      stdio: 'ignore',
      detached: true,
      env: childEnvironment(process.env), // the browser gets none of coffer's credentials
    });
    child.on('error', () => {});
    child.unref();
  } catch {
    // no browser: the printed link is enough
  }
}

function waitForSignal(): Promise<void> {
  return new Promise((resolve) => {
    const on = () => {
      process.off('SIGTERM', on);
      process.off('SIGINT', on);
      resolve();
    };
    process.on('SIGTERM', on);
    process.on('SIGINT', on);
  });
}

export function uiCommand(program: Command): void {
  program
    .command('ui')
    .description('open the web UI on this machine (a loopback address) with a one-time login link')
    .option('--port <port>', 'port to listen on (0: any free port)', intOption('--port', 0), 0)
    .option(
      '--host <address>',
      'loopback address to listen on, e.g. 127.0.0.1 for a forwarded port (default: one of its own)',
    )
    .option('--no-open', 'print the login link without opening a browser')
    .addHelpText(
      'after',
      `
Prints the one-time login link on stdout (good once, for 10 minutes) and opens it in the
browser when there is a desktop, through a page only you can read (0600, deleted once the
link is used): the link itself is never in a program's arguments, which any local user can
read. It serves on a random loopback address of its own
(127.x.y.z; 127.0.0.1 where the system has no other), so that no other local server gets
its session cookie; --host 127.0.0.1 with --port serves where an SSH or container port
forward expects it (any other server on 127.0.0.1 then gets the cookie too). Only loopback
addresses are taken: for the network, run \`coffer serve\`. The session acts as you, like
the CLI; every page and every
reveal is audited as ui:<user>. For a team, run \`coffer serve\` and log in with a token.
Stops on SIGINT (Ctrl-C) or SIGTERM.

Examples:
  coffer ui
  coffer ui --port 8701 --no-open`,
    )
    .action(
      action<UiCommandOptions>(async (_args, opts, g) =>
        withLocalVault('coffer ui', g, async ({ vault }) => {
          const { createApi } = await import('../../server/app.js');
          const { startServer } = await import('../../server/http-server.js');
          const { LINK_TTL_MS, SessionStore } = await import('../../server/ui/session.js');
          const { AccessPolicy } = await import('../../core/access/policy.js');
          const sessions = new SessionStore();
          const version = typeof COFFER_VERSION === 'string' ? COFFER_VERSION : '0.0.0-dev';
          const { findManifestFile } = await import('../../core/manifest/load.js');
          const manifest = findManifestFile(process.cwd());
          const api = createApi({
            vault,
            version,
            ui: { sessions, manifests: manifest === undefined ? [] : [manifest] },
          });
          const { isLoopback, privateLoopbackHost } = await import('../../core/loopback.js');
          const listen = (host: string) =>
            startServer(api.app, { host, port: opts.port }, { hotPath: api.hotPath });
          // An address of its own, so that the session cookie goes to no other local server.
          if (opts.host !== undefined && !isLoopback(opts.host)) {
            throw new CofferError(
              'USAGE',
              `--host ${opts.host.slice(0, 60)} is not a loopback address`,
              { hint: 'coffer ui serves this machine only; for others, run `coffer serve`.' },
            );
          }
          const server =
            opts.host !== undefined
              ? await listen(opts.host.replace(/^\[(.*)\]$/, '$1')) // [::1] as in a URL
              : await listen(privateLoopbackHost()).catch((err: unknown) => {
                  const code = (err as { cause?: NodeJS.ErrnoException }).cause?.code;
                  if (code === 'EADDRNOTAVAIL') return listen('127.0.0.1');
                  throw err;
                });
          const actor = cliActor().replace(/^cli:/, 'ui:');
          const policy = new AccessPolicy(
            { allow: [], envs: [], caps: ['read', 'list', 'write', 'delete', 'admin'] },
            'you',
          );
          let page: LaunchPage | undefined;
          const removePage = () => page?.remove();
          const code = sessions.link({ kind: 'local', policy, actor }, removePage);
          const link = `${server.url}/login/link/${code}`;
          writeOut(`${link}\n`);
          if (opts.open && hasDesktop()) {
            try {
              page = writeLaunchPage(link);
            } catch (err) {
              const reason = (err as NodeJS.ErrnoException).code ?? 'error';
              warn(`cannot write the page that opens the browser (${reason}); open the link above`);
            }
            if (page !== undefined) {
              // A page left behind holds a dead link at worst; still, none is kept.
              process.once('exit', removePage);
              setTimeout(removePage, LINK_TTL_MS).unref();
              openBrowser(page.path);
            }
          }
          await waitForSignal();
          removePage();
          await server.close();
          await api.close();
          return 0;
        }),
      ),
    );
}
