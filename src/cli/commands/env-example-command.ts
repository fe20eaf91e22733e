/**
 * `coffer env example`: writes .env.example from .env with placeholders that say what goes
 * in each variable, keeping comments and order. It never copies a value, and it warns when an
 * existing .env.example holds something that looks like a real secret.
 */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { parseDotenv, setDotenvVariables } from '../../core/dotenv/index.js';
import { writeSecretFile } from '../../core/files.js';
import { action, type CommonOptions } from '../action.js';
import { note, printJson, warn } from '../output.js';
import { commentsAbove, readEnvFile } from './env-command.js';

interface ExampleOptions extends CommonOptions {
  file: string;
  out: string;
}

const PLACEHOLDER =
  /^(<.*>|\$\{.*\}|your[-_ ].*|.*(changeme|change-me|example|placeholder|xxx|\.\.\.).*)$/i;
const KNOWN_SECRET =
  /(sk|rk)_(live|test)_|gh[pousr]_|github_pat_|AKIA[0-9A-Z]{12}|xox[baprs]-|-----BEGIN|sk-[A-Za-z0-9_-]{16}|eyJ[A-Za-z0-9_-]+\.eyJ/;

/** Bits of entropy per character of `s` (Shannon, over its own character frequencies). */
function entropy(s: string): number {
  const counts = new Map<string, number>();
  for (const ch of s) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let h = 0;
  for (const n of counts.values()) {
    const p = n / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}

/** Whether a value in an example file looks like a real secret rather than a placeholder. */
export function looksLikeSecret(value: string): boolean {
  const v = value.trim();
  if (v.length < 12 || PLACEHOLDER.test(v)) return false;
  if (KNOWN_SECRET.test(v)) return true;
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((r) => r.test(v)).length;
  return v.length >= 16 && classes >= 2 && entropy(v) >= 3.5 && !/\s/.test(v);
}

export function envExampleCommand(env: Command): void {
  env
    .command('example')
    .description('write .env.example from .env with placeholders instead of values')
    .option('-f, --file <path>', 'the .env file to read', '.env')
    .option('-o, --out <path>', 'the example file to write', '.env.example')
    .option('--json', 'print {out, variables, suspicious} as JSON')
    .addHelpText(
      'after',
      `
Each value becomes a placeholder made from the comment above the variable, or its name:

  # Stripe API key for payment processing       # Stripe API key for payment processing
  STRIPE_API_KEY=sk_live_...              ->     STRIPE_API_KEY='<Stripe API key for payment processing>'

Example:
  coffer env example && git add .env.example`,
    )
    .action(
      action<ExampleOptions>(async (_args, opts) => {
        const suspicious: string[] = [];
        if (existsSync(opts.out)) {
          for (const [k, v] of Object.entries(parseDotenv(readEnvFile(opts.out)))) {
            if (looksLikeSecret(v)) suspicious.push(k);
          }
          for (const k of suspicious) {
            warn(
              `${opts.out}: ${k} looks like a real secret; it is replaced by a placeholder now, but check git history`,
            );
          }
        }
        const text = readEnvFile(opts.file);
        const comments = commentsAbove(text);
        const placeholders: Record<string, string> = {};
        for (const key of Object.keys(parseDotenv(text))) {
          const what = comments.get(key) ?? key.toLowerCase().replace(/_/g, ' ');
          placeholders[key] = `<${what.replace(/[<>]/g, '')}>`;
        }
        writeSecretFile(opts.out, setDotenvVariables(text, placeholders), {
          overwrite: true,
          mode: 0o644,
        });
        if (opts.json)
          printJson({ out: opts.out, variables: Object.keys(placeholders), suspicious });
        else note(`wrote ${opts.out} with ${Object.keys(placeholders).length} placeholders`);
        return 0;
      }),
    );
}
