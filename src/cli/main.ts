/**
 * The `coffer` command: parses argv with commander and dispatches to one file per verb in
 * commands/. Exit codes and output conventions are described in output.ts.
 */
import { Command, CommanderError } from 'commander';
import { CofferError } from '../core/errors.js';
import { auditCommand } from './commands/audit-command.js';
import { deleteCommand, restoreCommand } from './commands/delete-command.js';
import { describeCommand } from './commands/describe-command.js';
import { envCommand } from './commands/env-command.js';
import { envelopeCommand } from './commands/envelope-command.js';
import { generateCommand } from './commands/generate-command.js';
import { getCommand } from './commands/get-command.js';
import { historyCommand } from './commands/history-command.js';
import { hookCommand } from './commands/hook-command.js';
import { initCommand } from './commands/init-command.js';
import { injectCommand } from './commands/inject-command.js';
import { keyCommand } from './commands/key-command.js';
import { listCommand } from './commands/list-command.js';
import { manifestCommand } from './commands/manifest-command.js';
import { mcpCommand } from './commands/mcp-command.js';
import { missingSeparator, runCommand } from './commands/run-command.js';
import { scanCommand } from './commands/scan-command.js';
import { serveCommand } from './commands/serve-command.js';
import { setCommand } from './commands/set-command.js';
import { setupCommand } from './commands/setup-command.js';
import { tokenCommand } from './commands/token-command.js';
import { verifyCommand } from './commands/verify-command.js';
import { EXIT, reportError, writeOut } from './output.js';

declare const COFFER_VERSION: string;

const COMMANDS: Record<string, (program: Command) => void> = {
  init: initCommand,
  set: setCommand,
  get: getCommand,
  list: listCommand,
  ls: listCommand,
  history: historyCommand,
  delete: deleteCommand,
  rm: deleteCommand,
  restore: restoreCommand,
  verify: verifyCommand,
  describe: describeCommand,
  audit: auditCommand,
  key: keyCommand,
  run: runCommand,
  inject: injectCommand,
  manifest: manifestCommand,
  setup: setupCommand,
  env: envCommand,
  generate: generateCommand,
  envelope: envelopeCommand,
  mcp: mcpCommand,
  serve: serveCommand,
  token: tokenCommand,
  scan: scanCommand,
  hook: hookCommand,
};

/** The first argument that is not a global option (and its value): the command name. */
function commandName(argv: string[]): string | undefined {
  const i = commandIndex(argv);
  return i === undefined ? undefined : argv[i];
}

/** Where the command name is in argv (see commandName). */
function commandIndex(argv: string[]): number | undefined {
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--vault' || a === '--key-file') i++;
    else if (!a.startsWith('-')) return i;
    else if (
      a !== '--passphrase-stdin' &&
      !a.startsWith('--vault=') &&
      !a.startsWith('--key-file=')
    )
      return undefined;
  }
  return undefined;
}

/**
 * Builds the program. When argv names a known command, only that command is registered:
 * a short command such as `get` then skips building every other command's options and help,
 * which is a measurable part of its start-up time.
 */
export function buildProgram(argv: string[] = []): Command {
  const program = new Command('coffer')
    .description('coffer: an encrypted vault for your secrets, with key paths, audit and injection')
    .option('--vault <path>', 'vault file (default: $COFFER_HOME/vault.db, COFFER_HOME=~/.coffer)')
    .option('--key-file <path>', 'master key file (default: master.key beside the vault)')
    .option('--passphrase-stdin', 'read the vault passphrase from the first line of stdin')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (str) => writeOut(str),
      outputError: (str, write) => write(str.replace(/^error: /, 'coffer: error: ')),
    })
    .addHelpText(
      'after',
      `
Version: coffer --version
Environment: COFFER_HOME, COFFER_MASTER_KEY, COFFER_KEY_FILE, COFFER_PASSPHRASE, COFFER_ENV.
Exit codes: 0 ok, 1 failure, 2 usage, 3 not found, 4 integrity/authentication, 5 conflict.

Quick start:
  coffer init
  printf %s "sk_live_..." | coffer set project/consilio/stripe_api_key \\
      --description "Stripe API key for payment processing"
  coffer get project/consilio/stripe_api_key
  coffer list project/consilio`,
    );
  const only = COMMANDS[commandName(argv) ?? ''];
  for (const add of only ? [only] : new Set(Object.values(COMMANDS))) add(program);
  for (const cmd of program.commands) {
    cmd.exitOverride();
    for (const sub of cmd.commands) sub.exitOverride();
  }
  return program;
}

/**
 * Node 20 parses `--env-file FILE` anywhere before `--` on its own command line, before
 * coffer starts (a FILE that does not exist ends it with exit 9), so no coffer option has that
 * name: the .env file option is `--dotenv FILE` (`-f FILE`). Where Node lets `--env-file`
 * through, say which option was meant instead of "unknown option".
 */
function nodeEnvFileOption(argv: string[]): CofferError | undefined {
  const end = argv.indexOf('--');
  const own = (end < 0 ? argv : argv.slice(0, end)).slice(2);
  if (!own.some((a) => a === '--env-file' || a.startsWith('--env-file='))) return undefined;
  return new CofferError(
    'INVALID_ARGUMENT',
    '--env-file is an option of Node itself, not of coffer',
    {
      hint: 'Name the .env file with --dotenv FILE (or -f FILE): Node 20 reads --env-file before coffer starts and stops when the file does not exist.',
    },
  );
}

const VERSION = typeof COFFER_VERSION === 'string' ? COFFER_VERSION : '0.0.0-dev';

export async function main(argv: string[]): Promise<void> {
  // `--version` alone prints coffer's version; after a command it is that command's option
  // (`coffer get PATH --version 2`), so commander's global version flag is not used.
  if (argv.length === 3 && (argv[2] === '--version' || argv[2] === '-V')) {
    writeOut(`${VERSION}\n`);
    return;
  }
  const envFile = nodeEnvFileOption(argv);
  if (envFile) {
    process.exitCode = reportError(envFile, argv.includes('--json'));
    return;
  }
  const program = buildProgram(argv);
  const at = commandIndex(argv);
  const run = program.commands.find((c) => c.name() === 'run');
  const separator =
    at !== undefined && argv[at] === 'run' && run !== undefined
      ? missingSeparator(argv.slice(at + 1), [...run.options, ...program.options])
      : undefined;
  if (separator) {
    process.exitCode = reportError(separator, false);
    return;
  }
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      const ok =
        err.code === 'commander.helpDisplayed' ||
        err.code === 'commander.version' ||
        err.code === 'commander.help';
      process.exitCode = ok ? EXIT.ok : EXIT.usage;
      return;
    }
    throw err;
  }
}
