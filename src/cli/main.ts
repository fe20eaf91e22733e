/**
 * The `coffer` command: parses argv with commander and dispatches to one file per verb in
 * commands/. Exit codes and output conventions are described in output.ts.
 */
import { Command, CommanderError } from 'commander';
import { CofferError } from '../core/errors.js';
import { EXIT, reportError, writeOut } from './output.js';

declare const COFFER_VERSION: string;

/** Adds one command (or command group) to the program. */
type AddCommand = (program: Command) => void;

/**
 * Each command's module is loaded when that command runs (or for the full help), so a short
 * command evaluates none of the others' modules at start-up (bench/: CLI start-up).
 */
const COMMANDS: Record<string, () => Promise<AddCommand>> = {
  init: async () => (await import('./commands/init-command.js')).initCommand,
  set: async () => (await import('./commands/set-command.js')).setCommand,
  get: async () => (await import('./commands/get-command.js')).getCommand,
  list: async () => (await import('./commands/list-command.js')).listCommand,
  ls: async () => (await import('./commands/list-command.js')).listCommand,
  history: async () => (await import('./commands/history-command.js')).historyCommand,
  delete: async () => (await import('./commands/delete-command.js')).deleteCommand,
  rm: async () => (await import('./commands/delete-command.js')).deleteCommand,
  restore: async () => (await import('./commands/delete-command.js')).restoreCommand,
  verify: async () => (await import('./commands/verify-command.js')).verifyCommand,
  describe: async () => (await import('./commands/describe-command.js')).describeCommand,
  audit: async () => (await import('./commands/audit-command.js')).auditCommand,
  key: async () => (await import('./commands/key-command.js')).keyCommand,
  run: async () => (await import('./commands/run-command.js')).runCommand,
  inject: async () => (await import('./commands/inject-command.js')).injectCommand,
  manifest: async () => (await import('./commands/manifest-command.js')).manifestCommand,
  setup: async () => (await import('./commands/setup-command.js')).setupCommand,
  env: async () => (await import('./commands/env-command.js')).envCommand,
  generate: async () => (await import('./commands/generate-command.js')).generateCommand,
  envelope: async () => (await import('./commands/envelope-command.js')).envelopeCommand,
  mcp: async () => (await import('./commands/mcp-command.js')).mcpCommand,
  serve: async () => (await import('./commands/serve-command.js')).serveCommand,
  ui: async () => (await import('./commands/ui-command.js')).uiCommand,
  token: async () => (await import('./commands/token-command.js')).tokenCommand,
  scan: async () => (await import('./commands/scan-command.js')).scanCommand,
  hook: async () => (await import('./commands/hook-command.js')).hookCommand,
  rotation: async () => (await import('./commands/rotation-command.js')).rotationCommand,
  backup: async () => (await import('./commands/backup-command.js')).backupCommand,
  export: async () => (await import('./commands/export-command.js')).exportCommand,
  sync: async () => (await import('./commands/sync-command.js')).syncCommand,
  rotate: async () => (await import('./commands/rotate-command.js')).rotateCommand,
  incident: async () => (await import('./commands/incident-command.js')).incidentCommand,
  doctor: async () => (await import('./commands/doctor-command.js')).doctorCommand,
  agent: async () => (await import('./commands/agent-command.js')).agentCommand,
  redact: async () => (await import('./commands/redact-command.js')).redactCommand,
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

/** Whether coffer's own arguments (before `--`, after it they are a program's) ask for JSON. */
function wantsJson(argv: string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).slice(2).includes('--json');
}

/**
 * commander's usage error (a missing argument, an unknown option, a bad option value) in the
 * JSON shape of every other error: `{"error": {"code": "USAGE", message, hint}}`. Its first
 * line is the message; a suggestion under it ("(Did you mean --env?)") is the hint.
 */
function reportUsageJson(text: string): void {
  const [first = '', ...rest] = text.trim().split('\n');
  const hint = rest
    .join(' ')
    .trim()
    .replace(/^\((.*)\)$/, '$1');
  reportError(
    new CofferError('USAGE', first.replace(/^error: /, ''), {
      hint: hint === '' ? undefined : hint,
    }),
    true,
  );
}

/**
 * Builds the program. When argv names a known command, only that command is registered:
 * a short command such as `get` then skips building every other command's options and help,
 * which is a measurable part of its start-up time.
 */
export async function buildProgram(argv: string[] = []): Promise<Command> {
  const program = new Command('coffer')
    .description('coffer: an encrypted vault for your secrets, with key paths, audit and injection')
    .option('--vault <path>', 'vault file (default: $COFFER_HOME/vault.db, COFFER_HOME=~/.coffer)')
    .option('--key-file <path>', 'master key file (default: master.key beside the vault)')
    .option(
      '--passphrase-stdin',
      'read the vault passphrase from the first line of stdin (at most 64 KiB; the rest is the input of the command)',
    )
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      writeOut: (str) => writeOut(str),
      outputError: (str, write) =>
        wantsJson(argv) ? reportUsageJson(str) : write(str.replace(/^error: /, 'coffer: error: ')),
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
  const loaders = only ? [only] : Object.values(COMMANDS);
  // ls and rm load the same module as list and delete: each command is added once.
  for (const add of new Set(await Promise.all(loaders.map((load) => load())))) add(program);
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
  const program = await buildProgram(argv);
  const at = commandIndex(argv);
  const run = program.commands.find((c) => c.name() === 'run');
  const separator =
    at !== undefined && argv[at] === 'run' && run !== undefined
      ? (await import('./commands/run-command.js')).missingSeparator(argv.slice(at + 1), [
          ...run.options,
          ...program.options,
        ])
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
