/**
 * `coffer token create|list|revoke`: the API tokens of `coffer serve`, managed on the local
 * store directly (the same one the server opens) through core/access/tokens.ts. Holding the
 * master key, the CLI is the root: no token policy bounds it. The token string is printed
 * once, by `create`, on stdout; the store keeps only its hash.
 */
import type { Command } from 'commander';
import { action, type CommonOptions } from '../action.js';
import { withLocalVault } from '../context.js';
import { note, printJson, table, writeOut } from '../output.js';

interface CreateOptions extends CommonOptions {
  name: string;
  allow?: string[];
  cap: string;
  ttl?: string;
  /** false with --no-reveal. */
  reveal: boolean;
}

const collect = (value: string, previous: string[] | undefined): string[] => [
  ...(previous ?? []),
  value,
];

function serviceModule() {
  return import('../../core/access/tokens.js');
}

export function tokenCommand(program: Command): void {
  const token = program
    .command('token')
    .description('manage the API tokens of `coffer serve` (stored hashed; shown once)')
    .addHelpText(
      'after',
      `
A program uses a token with COFFER_URL (the server) and COFFER_TOKEN: the CLI, coffer/client
and \`coffer mcp\` then work through \`coffer serve\`, within the token's policy.

Examples:
  coffer token create --name deploy --allow "project/app/*" --env prod --cap read --ttl 30d
  coffer token list
  coffer token revoke deploy`,
    );

  token
    .command('create')
    .description('create a token and print it (the only time it is shown)')
    .requiredOption('--name <name>', 'unique name, recorded in the audit log (e.g. deploy)')
    .option('--allow <glob>', 'key paths it may touch, repeatable (default "**": all)', collect)
    .option('-e, --env <env>', 'environment it may touch, repeatable (default: any)', collect)
    .option('--cap <caps>', 'capabilities: read, list, write, delete, admin (comma list)', 'read')
    .option('--ttl <ttl>', 'time to live, e.g. 30d, 12h, 2w (default: no expiry)')
    .option(
      '--no-reveal',
      'the token may never read values over HTTP (403, audited): for agents; fixed in the token',
    )
    .option('--json', 'print {name, token, expiresAt} as JSON')
    .addHelpText(
      'after',
      `
Examples:
  coffer token create --name deploy --allow "project/app/*" --env prod --cap read --ttl 30d
  coffer token create --name ci --allow "project/**" --cap read,list --json
  coffer token create --name admin --cap read,list,write,delete,admin --ttl 1d
  coffer token create --name claude --allow "project/app/*" --cap list,write --no-reveal

--allow: * is any run of characters in one segment, ** any number of segments (a run of **
is one). At most 64 globs, each with at most 3 segments besides ** (a key path has 3).

--no-reveal is stored in the token's row under its MAC: reads of values (GET a secret, a
project's secrets, the web UI's Reveal) are refused with 403 and audited, whatever the
program holding the token runs, and it creates only --no-reveal tokens. It can still
store, list, verify and generate secrets (for \`coffer mcp\` in remote mode: set_secret,
generate_secret, verify_secret, request_secret work; get_secret and write_env do not).

An admin token manages tokens and reads the audit log within its own policy only: through
the API it creates tokens no wider than itself (globs, environments, capabilities, expiry)
and lists and revokes only such tokens. This command, run with the master key, is not
limited.`,
    )
    .action(
      action<CreateOptions>(async (_args, opts, g) =>
        withLocalVault('coffer token create', g, async ({ vault }) => {
          const { createToken } = await serviceModule();
          const created = await createToken(vault, {
            name: opts.name,
            allow: opts.allow ?? ['**'],
            // --env is repeatable here: commander hands over the collected list.
            envs: (opts as unknown as { env?: string[] }).env ?? [],
            caps: opts.cap.split(',').map((c) => c.trim()),
            ttl: opts.ttl,
            reveal: opts.reveal === false ? 'never' : 'allow',
          });
          if (opts.json) {
            printJson(created);
          } else {
            writeOut(`${created.token}\n`);
            note(
              `created token ${created.name}${created.expiresAt ? ` (expires ${created.expiresAt})` : ''}; it is shown only this once`,
            );
          }
          return 0;
        }),
      ),
    );

  token
    .command('list')
    .description('list tokens (never the tokens themselves)')
    .option('--json', 'print {tokens: [...]} as JSON')
    .addHelpText(
      'after',
      `
Lists every token with its status (active, expired, revoked), capabilities, key-path globs,
environments and expiry. The token itself was shown once, when it was created.

Examples:
  coffer token list
  coffer token list --json | jq -r '.tokens[] | select(.revokedAt == null) | .name'`,
    )
    .action(
      action<CommonOptions>(async (_args, opts, g) =>
        withLocalVault('coffer token list', g, async ({ vault }) => {
          const { listTokens } = await serviceModule();
          const tokens = await listTokens(vault);
          if (opts.json) {
            printJson({ tokens });
            return 0;
          }
          const now = Date.now();
          const status = (t: (typeof tokens)[number]) =>
            t.revokedAt !== null
              ? 'revoked'
              : t.expiresAt !== null && Date.parse(t.expiresAt) <= now
                ? 'expired'
                : 'active';
          writeOut(
            table(
              ['NAME', 'STATUS', 'CAPS', 'PATHS', 'ENVS', 'EXPIRES', 'ID'],
              tokens.map((t) => [
                t.name,
                status(t),
                `${t.caps.join(',')}${t.noReveal ? ' (no reveal)' : ''}`,
                t.allow.join(','),
                t.envs.length === 0 ? 'any' : t.envs.join(','),
                t.expiresAt ?? 'never',
                t.id,
              ]),
            ),
          );
          return 0;
        }),
      ),
    );

  token
    .command('revoke')
    .description('revoke a token by name (servers stop accepting it within a second)')
    .argument('<name>', 'the token name')
    .option('--json', 'print {name, revoked: true} as JSON')
    .addHelpText(
      'after',
      `
The token stays in \`coffer token list\`, as revoked; revoking it again changes nothing. Give
the program that used it a new one with \`coffer token create\`.

Examples:
  coffer token revoke deploy
  coffer token revoke ci --json`,
    )
    .action(
      action<CommonOptions>(async ([name], opts, g) =>
        withLocalVault('coffer token revoke', g, async ({ vault }) => {
          const { revokeToken } = await serviceModule();
          const revoked = await revokeToken(vault, name!);
          if (opts.json) printJson({ name: revoked.name, revoked: true });
          else note(`revoked token ${revoked.name}`);
          return 0;
        }),
      ),
    );
}
