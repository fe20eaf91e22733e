/**
 * `coffer rotate PATH` and `coffer rotate --finish PATH` (core/rotation/rotate.ts). The
 * manifest (coffer.yaml in this directory or a parent), when it lists the secret, gives its
 * generator, its `previous:` name and the provider's steps.
 */
import type { Command } from 'commander';
import { auditTrust, refuseUnvouched } from '../../core/audit/vouched.js';
import { CofferError } from '../../core/errors.js';
import type { ManifestRotationHints } from '../../core/manifest/load.js';
import { parseEnvVarName, parseKeyPath } from '../../core/paths.js';
import { projectOfPath } from '../../core/project-file/index.js';
import { formatDuration, parseDuration } from '../../core/rotation/duration.js';
import { valuePlaces, writtenUnder } from '../../core/rotation/places.js';
import {
  assertPreviousName,
  finishRotation,
  planRotation,
  type RotateResult,
  rotateSecret,
} from '../../core/rotation/rotate.js';
import { type SyncedFile, syncDotenvFiles } from '../../core/rotation/sync.js';
import { escapeControls } from '../../core/terminal-text.js';
import { action, type CommonOptions } from '../action.js';
import { envOf, withLocalVault } from '../context.js';
import { envHelp } from '../env-option.js';
import { promptHidden, readStdinRest, STDIN_VALUE, stdinIsTerminal } from '../input.js';
import { note, printJson, warn, writeOut } from '../output.js';
import { collect } from '../project-file.js';

interface RotateOptions extends CommonOptions {
  grace?: string;
  valueStdin?: boolean;
  previousName?: string;
  finish?: boolean;
  rewrapped?: boolean;
  sync?: boolean;
  allowEnvName?: string[];
}

/**
 * The manifest's rotation hints for `path` (coffer.yaml here or in a parent), with the names
 * the manifest, the project file here and `flags` (`--allow-env-name`) allow: rotate, incident.
 */
export async function manifestHints(
  path: string,
  env: string,
  flags: readonly string[] = [],
): Promise<ManifestRotationHints> {
  const { manifestRotationHints } = await import('../../core/manifest/load.js');
  return manifestRotationHints(process.cwd(), path, env, flags);
}

/** The provider's steps: the manifest's `rotate:` text, or the general procedure. */
function providerSteps(path: string, steps: string | null): string {
  if (steps !== null) return steps.trimEnd();
  return [
    `1. Create a new key at the provider of ${path}.`,
    '2. Give it to coffer below (it is stored as a new version).',
    '3. Update every environment and deploy; check the application works.',
    '4. Revoke the old key at the provider.',
    `(Put these steps for this secret under rotate: in coffer.yaml.)`,
  ].join('\n');
}

const SYNC_WHY: Record<Exclude<SyncedFile['outcome'], 'rewritten'>, string> = {
  missing: 'the file is gone',
  'not-dotenv': 'written by coffer inject: run it again',
  'refused-name': 'a variable name coffer does not write (docs/injection.md)',
  'refused-previous':
    'the previous value is not written beside the new one: its name is one coffer does not write (docs/injection.md)',
  remote: 'written by a client through coffer serve: sync it there (coffer env pull)',
  link: 'it, or a directory on its path, is now a symbolic link: not the file coffer wrote',
  changed: 'it no longer holds the variable: not the file coffer wrote',
  tracked: 'git tracks it: the value would go into the next commit',
  'name-taken': 'another secret of the project owns the variable',
};

function afterRotation(r: RotateResult): string[] {
  const lines = [`rotated ${r.path} (${r.env}): version ${r.previousVersion} -> ${r.version}`];
  if (r.kind === 'envelope' || r.kind === 'fernet') {
    lines.push(
      `the key list now has ${r.keys} keys; the new primary key${r.primaryKeyId ? ` ${r.primaryKeyId}` : ''} encrypts, the old ones still decrypt`,
    );
    lines.push(
      r.kind === 'envelope'
        ? `next: deploy it, then rewrap the data: coffer envelope rewrap --keys-from ${r.path} --env ${r.env} --database URL --table T --column C`
        : 'next: deploy it, then re-encrypt the stored tokens with the new key (MultiFernet.rotate, or fernetRotate from coffer/fernet)',
    );
    lines.push(
      `then drop the old keys: coffer rotate --finish ${r.path} --env ${r.env} --rewrapped`,
    );
    return lines;
  }
  if (r.retiredEarly !== null) {
    lines.push(
      `version ${r.retiredEarly} was still in its grace window and is retired now (one previous version is kept): update what still uses it`,
    );
  }
  if (r.graceUntil !== null) {
    lines.push(
      r.previousName !== null
        ? `until ${r.graceUntil} coffer run and the .env writers also inject version ${r.previousVersion} as ${r.previousName}`
        : `version ${r.previousVersion} stays valid until ${r.graceUntil} (add previous: NAME in coffer.yaml to inject it beside the new one)`,
    );
    lines.push(`then: coffer rotate --finish ${r.path} --env ${r.env}`);
  } else {
    lines.push(`version ${r.previousVersion} is retired`);
  }
  if (r.kind === 'external') {
    lines.push(
      `next: update every environment, deploy, then revoke the old key (version ${r.previousVersion}) at the provider`,
    );
  }
  return lines;
}

export function rotateCommand(program: Command): void {
  program
    .command('rotate')
    .description('rotate a secret: a new version, the previous one valid for a grace window')
    .argument('<path>', 'key path')
    .option('-e, --env <env>', envHelp())
    .option(
      '--grace <duration>',
      'how long the previous version stays valid (0: retire it now)',
      '7d',
    )
    .option('--value-stdin', 'read the new value of an external secret from stdin')
    .option(
      '--previous-name <NAME>',
      "inject the previous value as NAME during the grace window (default: the manifest's previous:)",
    )
    .option(
      '--sync',
      'rewrite the .env files coffer wrote the old value into (from the audit log) with the new one',
    )
    .option(
      '--allow-env-name <NAME>',
      'accept NAME as the previous name although it changes how programs load code (repeatable)',
      collect,
    )
    .option('--finish', 'end the rotation: retire the previous version')
    .option('--rewrapped', 'with --finish: the data was rewrapped, drop the old keys of a key list')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
A generated secret (generate: in coffer.yaml, or stored by coffer generate) gets a new random
value. A key list (a coffer/envelope keyring k2:...,k1:... or Fernet keys) gains a new primary
key and keeps the old ones until --finish --rewrapped. Any other secret is external: the
provider's steps (rotate: in coffer.yaml) are printed and the new value is read from stdin
(--value-stdin) or a hidden prompt. Everything happens in one transaction.
--sync takes the files from the audit log: it refuses, before rotating, while \`coffer audit
verify\` reports a break, and never writes into a file git tracks.

Examples:
  coffer rotate project/agents/secret_key --env prod --grace 7d
  printf %s "$NEW_KEY" | coffer rotate project/agents/openai_api_key --env prod --value-stdin --grace 0
  coffer rotate project/agents/secret_key --env prod --grace 0 --sync   # .env files too
  coffer rotate --finish project/agents/secret_key --env prod
  coffer rotate --finish project/agents/encryption_key --env prod --rewrapped`,
    )
    .action(
      action<RotateOptions>(async ([path], opts, g) => {
        const key = parseKeyPath(path!).path;
        const env = envOf(opts, projectOfPath(key));
        if (opts.finish) {
          // Options of a rotation that --finish would silently drop (a value read and lost).
          const rotationOnly = [
            opts.sync && '--sync',
            opts.valueStdin && '--value-stdin',
            opts.previousName !== undefined && '--previous-name',
            opts.allowEnvName !== undefined && '--allow-env-name',
          ].filter((o): o is string => typeof o === 'string');
          if (rotationOnly.length > 0) {
            throw new CofferError(
              'USAGE',
              `${rotationOnly.join(', ')} ${rotationOnly.length === 1 ? 'goes' : 'go'} with a rotation, not with --finish`,
            );
          }
        }
        if (opts.finish) {
          return withLocalVault('coffer rotate', g, async ({ vault }) => {
            const r = await finishRotation(vault, { path: key, env, rewrapped: opts.rewrapped });
            if (opts.json) printJson(r);
            else if (!r.finished)
              note(`nothing to finish: ${key} (${env}) has no rotation in progress`);
            else {
              note(`finished ${key} (${env}): retired version ${r.retired.join(', ')}`);
              if (r.version !== null) note(`version ${r.version} holds the primary key only`);
              if (r.previousName !== null)
                note(
                  `.env files may still hold the retired value as ${r.previousName}: coffer env pull (or rotate --sync) takes it out`,
                );
            }
            return 0;
          });
        }
        if (opts.rewrapped) throw new CofferError('USAGE', '--rewrapped goes with --finish');
        const graceMs = parseDuration(opts.grace ?? '7d', '--grace');
        const previousName =
          opts.previousName === undefined ? undefined : parseEnvVarName(opts.previousName);
        const hints = await manifestHints(key, env, opts.allowEnvName);
        const generator = hints.generator;
        const previous = previousName ?? hints.previousName ?? undefined;
        return withLocalVault('coffer rotate', g, async ({ vault }) => {
          // A refused previous name is refused (and audited) before the provider's steps and
          // the prompt for a new value that the rotation would then throw away.
          if (previous !== undefined) {
            await assertPreviousName(
              { path: key, env },
              previous,
              (a, t, r) => vault.recordDenied(a, t, r),
              hints.allowEnvNames,
            );
          }
          // --sync writes into the files the audit log names: with a log that does not
          // verify, it is refused (and audited) before anything is rotated.
          if (opts.sync) {
            await refuseUnvouched(
              vault,
              'rotate_sync',
              { path: key, env },
              await auditTrust(vault),
            );
          }
          const plan = await planRotation(vault, key, env, generator);
          let value: string | undefined;
          if (plan.kind === 'external') {
            process.stderr.write(`${providerSteps(key, hints.steps)}\n`);
            if (opts.valueStdin) value = await readStdinRest('value', false, STDIN_VALUE);
            else if (stdinIsTerminal())
              value = await promptHidden(`New value for ${key}: `, {
                multiLineHint: `Pipe a new value of several lines on stdin: \`coffer rotate ${key} --value-stdin < new-key.pem\`.`,
              });
            else
              throw new CofferError(
                'ROTATION_VALUE_REQUIRED',
                `${key} (${env}) is not generated by coffer: its new value comes from the provider`,
              );
          } else if (opts.valueStdin) {
            warn(
              `${key} is ${plan.kind === 'generated' ? 'generated' : 'a key list'}: stdin is not read`,
            );
          }
          const r = await rotateSecret(vault, {
            path: key,
            env,
            graceMs,
            value,
            generator,
            previousName: previous,
            allowEnvNames: hints.allowEnvNames,
          });
          // Where the old value went: files coffer wrote it into, programs it was given to.
          const places = await valuePlaces(vault, key, env);
          const staleFiles = places.files.filter(
            (f) => f.version === null || f.version < r.version,
          );
          const programs = places.programs.filter(
            (p) => p.version === null || p.version < r.version,
          );
          const trust = places.trust;
          if (!trust.verified)
            warn(
              `where the old value went is not known: ${trust.notUsed ?? 'the audit log does not verify'}`,
            );
          else if (trust.notUsed !== undefined)
            warn(
              `${trust.notUsed}; the files and programs they name are not listed${opts.sync ? ' nor rewritten' : ''}`,
            );
          let synced: SyncedFile[] = [];
          let stale = staleFiles;
          if (opts.sync) {
            // The log verified before the rotation; changed since, it is refused here.
            if (!trust.verified)
              note(`rotated ${key} (${env}) to version ${r.version}; no file was rewritten`);
            synced = (await syncDotenvFiles(vault, key, env, staleFiles, trust)).files;
            const done = new Set(
              synced.filter((f) => f.outcome === 'rewritten').map((f) => `${f.file}\n${f.name}`),
            );
            stale = staleFiles.filter((f) => !done.has(`${f.file}\n${f.name}`));
          }
          if (opts.json) {
            printJson({
              ...r,
              grace: formatDuration(graceMs),
              staleFiles: stale,
              programs,
              audit: trust,
              ...(opts.sync ? { synced } : {}),
            });
          } else {
            const lines = afterRotation(r);
            for (const f of synced)
              lines.push(
                f.outcome === 'rewritten'
                  ? `rewrote: ${f.file} (${writtenUnder(f)})`
                  : f.outcome === 'refused-previous'
                    ? `not written: ${f.file} (${writtenUnder(f)}): ${SYNC_WHY[f.outcome]}`
                    : `not rewritten: ${f.file} (${writtenUnder(f)}): ${SYNC_WHY[f.outcome]}`,
              );
            for (const w of new Set(synced.map((f) => f.warning))) if (w !== undefined) warn(w);
            for (const f of stale)
              lines.push(
                `stale: ${f.file} holds ${writtenUnder(f)} version ${f.version ?? '?'} (written by ${f.via} at ${f.at}): run coffer ${f.name === null || f.via === 'inject' ? 'inject' : 'env pull'} again`,
              );
            for (const p of programs)
              lines.push(
                `restart: ${p.command} got version ${p.version ?? '?'} (coffer run at ${p.at})`,
              );
            // Files, commands and times come from the audit log: shown escaped.
            writeOut(`${lines.map(escapeControls).join('\n')}\n`);
          }
          return 0;
        });
      }),
    );
}
