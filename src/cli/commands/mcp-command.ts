/**
 * `coffer mcp`: runs the MCP server for AI coding agents on stdin/stdout (see src/mcp/),
 * over the local vault (file or COFFER_DATABASE_URL), or in remote mode (COFFER_URL +
 * COFFER_TOKEN) over a `coffer serve` server through `coffer/client`. The MCP SDK, zod and
 * pino are imported inside the action only, so other commands never load them.
 */
import { type Command, Option } from 'commander';
import { CofferError } from '../../core/errors.js';
import type { McpBackend } from '../../mcp/backend.js';
import type { CofferMcpOptions } from '../../mcp/server.js';
import { READ_ONLY_TOOL_NAMES, TOOL_NAMES, toolList } from '../../mcp/tools/tool-names.js';
import { action, type CommonOptions } from '../action.js';
import { isRemoteMode } from '../backend.js';
import { type OpenVault, openVault } from '../context.js';
import { envForProject } from '../env-option.js';
import { rawStdout } from '../output.js';

declare const COFFER_VERSION: string;

type AuditRequest = NonNullable<CofferMcpOptions['auditRequest']>;
type AuditRefusal = NonNullable<CofferMcpOptions['auditRefusal']>;
type AuditGuesses = NonNullable<CofferMcpOptions['auditGuesses']>;

interface McpOptions extends CommonOptions {
  allow: string[];
  readOnly?: boolean;
  reveal: 'allow' | 'never';
}

export function mcpCommand(program: Command): void {
  program
    .command('mcp')
    .description('run the MCP server (stdio) that lets AI coding agents use the vault')
    .option(
      '--allow <glob>',
      'key paths the agent may use, repeatable (default: all), e.g. project/consilio/*',
      (glob: string, all: string[]) => [...all, glob],
      [],
    )
    .option(
      '--read-only',
      `offer only the ${READ_ONLY_TOOL_NAMES.length} tools that change nothing: ${toolList(READ_ONLY_TOOL_NAMES)}`,
    )
    .addOption(
      new Option('--reveal <policy>', 'whether get_secret returns values')
        .choices(['allow', 'never'])
        .default('allow'),
    )
    .option(
      '-e, --env <env>',
      "environments the agent may use, repeatable (default: any); the first is the default of calls that name none (else COFFER_ENV, the project file's env for its own project, or dev)",
      (env: string, all: string[]) => [...all, env],
      [],
    )
    .addHelpText(
      'after',
      `
${wrap(`Tools: ${TOOL_NAMES.join(', ')} (--read-only: the tools that change nothing). No tool deletes a secret.`)}

request_secret asks the user for a value on a one-time page on 127.0.0.1 (a random port,
a 256-bit single-use link valid 10 minutes); clients with URL-mode elicitation open it
themselves, others get the link to show the user. The value goes to the vault, never
through the agent (see docs/agents.md).

When the vault cannot be opened (none yet, no master key), the server still starts: every
tool then answers with what the user has to do (e.g. run coffer init), and the reason is
logged on stderr; restart the server once it is fixed.

--allow and --env limit what the agent may touch, as a token's policy does on a server; a call
outside them is refused and audited (outcome denied). --allow takes the globs of \`coffer token
create\`: at most 64, each with at most 3 segments besides ** (a key path has 3).

--reveal allow (the default) lets get_secret return values, for workflows that read one back;
--reveal never returns only a short preview, so values never reach the model: use
generate_secret and write_env to put secrets to work. write_env writes only dotenv files
inside the working directory. The audit log records the client's declared name and
version, and COFFER_AGENT_ID when set. Logs go to stderr (COFFER_LOG_LEVEL, default info).

Remote mode (COFFER_URL + COFFER_TOKEN set): the tools use that \`coffer serve\` server, within
the token's policy as well as --allow; the server audits the calls as the token's name, and
generate_secret stores no generator spec there.

Examples:
  coffer mcp --allow "project/consilio/*" --env dev --reveal never
  An MCP client's configuration ("command": the absolute path \`command -v coffer\` prints,
  as clients do not start it from your shell):
  { "mcpServers": { "coffer": { "command": "/usr/local/bin/coffer",
      "args": ["mcp", "--allow", "project/consilio/*", "--env", "dev", "--reveal", "never"] } } }`,
    )
    .action(
      action<McpOptions>(async (_args, opts, g) => {
        if (g.passphraseStdin) {
          throw new CofferError(
            'USAGE',
            '--passphrase-stdin cannot be used: stdin carries the MCP protocol',
            {
              hint: "Let the server find its key where coffer keeps it (the key file `coffer init` made under COFFER_HOME), as `coffer agent setup` registers it: never put the key or the passphrase in the client's configuration, which the agent can read.",
            },
          );
        }
        const [{ mcpPolicy }, { createStderrLogger }, backends, { serveCofferMcp }] =
          await Promise.all([
            import('../../mcp/policy.js'),
            import('../../mcp/log.js'),
            import('../../mcp/backend.js'),
            import('../../mcp/server.js'),
          ]);
        const readOnly = opts.readOnly === true;
        // --env is repeatable here: commander hands over the collected list.
        const envs = (opts as unknown as { env?: string[] }).env ?? [];
        const policy = mcpPolicy({ allow: opts.allow, envs, readOnly, reveal: opts.reveal });
        // A call that names no environment gets the first --env, else the rule of every command
        // for the project it works on (env-option.ts): the project file's env= only for that
        // file's project. Worked out once here, so a bad COFFER_ENV or project file stops the
        // server before it serves.
        const defaultEnv = envForProject({ env: policy.envs[0] });
        defaultEnv(undefined);
        const log = createStderrLogger();
        // stdout is the protocol's from now on (the SDK writes to process.stdout): anything of
        // the CLI's own goes through that stream too, after what is queued in it.
        rawStdout();
        const serve = (
          backend: McpBackend,
          auditRequest?: AuditRequest,
          auditRefusal?: AuditRefusal,
          auditGuesses?: AuditGuesses,
        ) =>
          serveCofferMcp({
            ...(auditRequest === undefined ? {} : { auditRequest }),
            ...(auditRefusal === undefined ? {} : { auditRefusal }),
            ...(auditGuesses === undefined ? {} : { auditGuesses }),
            backend,
            policy,
            readOnly,
            defaultEnv,
            agentId: process.env.COFFER_AGENT_ID || undefined,
            cwd: process.cwd(),
            log,
            version: typeof COFFER_VERSION === 'string' ? COFFER_VERSION : '0.0.0-dev',
          });
        if (isRemoteMode()) {
          const { openRemote, openRemoteService } = await import('../remote-service.js');
          // Checked once before serving (a missing token is an error at start-up).
          await openRemoteService().close();
          const backend = backends.remoteMcpBackend((agent) => {
            const { service, client } = openRemote(process.env, undefined, agent);
            return { service, requests: client };
          }, policy);
          try {
            await serve(backend);
          } finally {
            await backend.close();
          }
        } else {
          let opened: OpenVault;
          try {
            opened = await openVault(g);
          } catch (err) {
            if (!(err instanceof CofferError)) throw err;
            // Serve anyway: the agent completes the handshake and every tool answers with
            // what the user has to do, instead of a bare "connection closed".
            log.warn({ code: err.code }, `the vault cannot be opened: ${err.message}`);
            await serve(backends.unavailableMcpBackend(backends.vaultUnavailableError(err)));
            return 0;
          }
          try {
            const vault = opened.vault;
            // request_secret's outcomes go into the audit log beside the vault's own records.
            await serve(
              backends.localMcpBackend(vault, async () => {}, policy),
              (actor, r, outcome, detail) =>
                vault
                  .withActor(actor)
                  .secretTransaction(
                    `request_${outcome}`,
                    { path: r.path, env: r.env },
                    async () => ({
                      result: undefined,
                      detail,
                    }),
                  ),
              // A refused use of a request's page, beside them.
              (actor, r, reason) =>
                vault
                  .withActor(actor)
                  .recordDenied('request_page', { path: r.path, env: r.env }, reason),
              // Links refused for too many that name no request: no request to name.
              (address, detail) =>
                vault
                  .withActor(`unauthenticated@${address}`)
                  .recordDenied('request_page', {}, detail),
            );
          } finally {
            await opened.close();
          }
        }
        return 0;
      }),
    );
}

/** Text in lines of at most 90 characters, broken between words (for the help). */
function wrap(text: string, width = 90): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  return [...lines, line].join('\n');
}
