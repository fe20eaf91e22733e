/**
 * Glue between commander and the commands: global options, --json, and error reporting.
 */
import { type Command, InvalidArgumentError } from 'commander';
import type { GlobalOptions } from './context.js';
import { reportError } from './output.js';

export interface CommonOptions {
  json?: boolean;
  env?: string;
}

/**
 * Wraps a command handler: it gets the positional arguments, its own options and the global
 * ones; any error is printed (as JSON with --json) and becomes the exit code.
 */
export function action<O extends CommonOptions>(
  handler: (args: string[], opts: O, global: GlobalOptions) => Promise<number | undefined>,
): (...raw: unknown[]) => Promise<void> {
  return async (...raw: unknown[]) => {
    const cmd = raw[raw.length - 1] as Command;
    // A parent command may have parsed a shared flag such as --json (`audit verify --json`),
    // so handlers see their own options merged with their ancestors'.
    const global = cmd.optsWithGlobals<GlobalOptions & O>();
    const opts = global as O;
    const args = raw
      .slice(0, -2)
      .flat()
      .filter((a): a is string => typeof a === 'string');
    try {
      process.exitCode = (await handler(args, opts, global)) ?? 0;
    } catch (err) {
      process.exitCode = reportError(err, opts.json === true || global.json === true);
    }
  };
}

/** Parses a whole number option, or throws a usage error naming the option. */
export function intOption(name: string, min = 0): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < min) {
      throw new InvalidArgumentError(`${name} must be a whole number >= ${min}`);
    }
    return n;
  };
}
