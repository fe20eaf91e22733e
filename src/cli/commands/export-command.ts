/**
 * `coffer export --project P --env E --format F [--out FILE]`: a project's variables for a
 * deploy target (core/export). Local-only secrets are never exported; derived values are
 * resolved; a name that makes programs load code (`NODE_OPTIONS`, ...) stops the export unless
 * `--allow-env-name` or the project file allows it, as for `coffer run`. Output holding values goes to a file written atomically with mode 0600, or to
 * stdout only with `--out -`; `github-actions` output holds no value and prints by default.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { CofferError } from '../../core/errors.js';
import {
  composeSnippet,
  type ExportFormat,
  formatExport,
  formatHoldsValues,
  parseExportFormat,
} from '../../core/export/formats.js';
import { type ExportSelection, selectExport } from '../../core/export/select.js';
import { fileExistsError, writeSecretFile } from '../../core/files.js';
import { childEnvironment } from '../../core/inject/child-env.js';
import { secretEnvVar } from '../../core/paths.js';
import type { SecretsService } from '../../core/service/secrets-service.js';
import { action, type CommonOptions } from '../action.js';
import { type GlobalOptions, withService } from '../context.js';
import { projectAndEnv } from '../env-input.js';
import { envHelp } from '../env-option.js';
import { note, printJson, refuseJsonWithStdout, warn, writeOut } from '../output.js';
import { allowedEnvNames, collect } from '../project-file.js';
import { withSuggestions } from '../suggestions.js';

interface ExportOptions extends CommonOptions {
  project?: string;
  format: string;
  out?: string;
  force?: boolean;
  name?: string;
  namespace?: string;
  service?: string;
  apply?: boolean;
  allowEnvName?: string[];
}

/**
 * Paths and names that the project's coffer.yaml (if any, for this project) marks local-only.
 * `allowEnvNames`: the command's --allow-env-name, which the manifest's names are read with.
 */
export async function manifestLocalOnly(
  project: string,
  allowEnvNames: readonly string[] = [],
): Promise<Set<string>> {
  const { findManifestFile, loadManifest, localManifestOptions } = await import(
    '../../core/manifest/load.js'
  );
  const file = findManifestFile(process.cwd());
  const out = new Set<string>();
  if (file === undefined) return out;
  const m = loadManifest(file, localManifestOptions(process.cwd(), allowEnvNames));
  if (m.project !== project) return out;
  for (const v of m.variables) {
    if (v.localOnly) {
      out.add(v.path);
      out.add(v.name);
    }
  }
  return out;
}

/**
 * The project's exportable variables in `env` (read through the secrets service, audited).
 * `allowNames`: the refused names the operator allowed on this machine.
 */
export async function readExport(
  b: SecretsService,
  project: string,
  env: string,
  purpose: string,
  allowNames: readonly string[],
): Promise<ExportSelection> {
  const secrets = await b.readProject(project, env, purpose);
  return selectExport(secrets, {
    env,
    manifestLocalOnly: await manifestLocalOnly(project, allowNames),
    reader: { getMany: (r) => b.getMany(r), info: (path, e) => b.info(path, e) },
    allowNames,
    deny: (a, t, r) => b.denied(a, t, r),
  });
}

/** Runs `kubectl apply -f -` with the manifest on its stdin (never in argv or a file). */
function kubectlApply(manifest: string): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('kubectl', ['apply', '-f', '-'], {
      stdio: ['pipe', 'inherit', 'inherit'],
      env: childEnvironment(process.env), // none of coffer's credentials
    });
    child.on('error', (err: NodeJS.ErrnoException) =>
      reject(
        new CofferError(
          err.code === 'ENOENT' ? 'DEPENDENCY_MISSING' : 'IO_ERROR',
          err.code === 'ENOENT'
            ? 'kubectl is not installed (or not on PATH)'
            : 'kubectl failed to start',
          { hint: 'Install kubectl, or write the manifest with --out FILE instead of --apply.' },
        ),
      ),
    );
    child.on('close', (code) => resolvePromise(code ?? 1));
    child.stdin.on('error', () => undefined);
    child.stdin.end(manifest);
  });
}

async function runExport(opts: ExportOptions, g: GlobalOptions): Promise<number> {
  const format: ExportFormat = parseExportFormat(opts.format);
  if (opts.apply && format !== 'k8s') {
    throw new CofferError('USAGE', '--apply goes with --format k8s only');
  }
  if (opts.apply && opts.out !== undefined) {
    throw new CofferError('USAGE', '--apply pipes the manifest to kubectl; leave out --out');
  }
  const holdsValues = formatHoldsValues(format);
  if (holdsValues && opts.out === undefined && !opts.apply) {
    throw new CofferError('USAGE', `the ${format} export holds secret values: name where it goes`, {
      hint: 'Pass --out FILE (written with mode 0600), or --out - to print it on stdout.',
    });
  }
  const out = opts.out ?? '-';
  refuseJsonWithStdout(opts.json, out === '-' && holdsValues && !opts.apply && '--out');
  const file = out === '-' ? undefined : resolve(out);
  if (file !== undefined && existsSync(file) && !opts.force) throw fileExistsError(file, '--out');
  const { project, env } = await withSuggestions(
    g,
    { kind: 'project', input: opts.project ?? '' },
    async () => projectAndEnv(opts),
  );
  const allowNames = allowedEnvNames(project, opts.allowEnvName);
  const selection = await withService(g, async (b) => {
    if (holdsValues) return readExport(b, project, env, 'export', allowNames);
    // Names only: no value is read.
    const listed = await b.list({ prefix: `project/${project}`, env });
    return selectExport(
      listed.map((s) => ({
        path: s.path,
        envVar: secretEnvVar(s),
        value: '',
        localOnly: s.localOnly,
      })),
      {
        env,
        manifestLocalOnly: await manifestLocalOnly(project, allowNames),
        allowNames,
        deny: (a, t, r) => b.denied(a, t, r),
      },
    );
  });
  const text = formatExport(format, selection.variables, {
    project,
    env,
    name: opts.name,
    namespace: opts.namespace,
  });
  const names = selection.variables.map((v) => v.name);
  if (opts.apply) {
    const code = await kubectlApply(text);
    if (code !== 0) {
      throw new CofferError(
        'IO_ERROR',
        `kubectl apply failed (exit ${code}); see its output above`,
      );
    }
  } else if (file === undefined) {
    writeOut(text);
  } else {
    // A path the user names (a symlinked ~/backups too) is theirs: only a link AT it is refused.
    writeSecretFile(file, text, { overwrite: opts.force === true });
  }
  for (const x of selection.excluded) {
    if (!opts.json) note(`left out ${x.name} (${x.path}): ${x.reason}`);
  }
  if (opts.json && file !== undefined) {
    printJson({ file, format, project, env, variables: names, excluded: selection.excluded });
  } else if (file !== undefined) {
    note(
      `wrote ${file} (${format}, mode 0600): ${names.length} variables of project ${project} (${env})`,
    );
    if (format === 'compose') {
      const rel = relative(process.cwd(), file) || file;
      note('use it in docker-compose.yml:');
      writeOut(composeSnippet(rel.startsWith('.') ? rel : `./${rel}`, opts.service ?? 'app'));
    }
  } else if (opts.apply) {
    note(`applied Secret with ${names.length} variables of project ${project} (${env})`);
  }
  if (names.length === 0) warn(`project ${project} has no variables to export in ${env}`);
  return 0;
}

export function exportCommand(program: Command): void {
  program
    .command('export')
    .description(
      "write a project's variables for a deploy target (dotenv, json, compose, k8s, ...)",
    )
    .option('-p, --project <name>', 'project (default: from .coffer or coffer.yaml here)')
    .option('-e, --env <env>', envHelp())
    .requiredOption(
      '-F, --format <format>',
      'dotenv | json | shell | compose | k8s | github-actions',
    )
    .option('-o, --out <file>', 'the file to write (mode 0600), or - for stdout')
    .option('--force', 'replace the output file when it exists')
    .option('--name <name>', "k8s: the Secret's name (default <project>-<env>)")
    .option('--namespace <ns>', "k8s: the Secret's namespace")
    .option('--apply', 'k8s: pipe the Secret to `kubectl apply -f -` instead of writing it')
    .option('--service <name>', 'compose: the service in the printed snippet (default app)')
    .option(
      '--allow-env-name <NAME>',
      'let a secret set NAME although it changes how programs load code (repeatable)',
      collect,
    )
    .option('--json', 'print {file, format, variables, excluded} (names only) as JSON')
    .addHelpText(
      'after',
      `
Secrets marked local-only (coffer describe PATH --local-only, or local_only: true in
coffer.yaml) are never exported. Values that are coffer:// references are resolved. A format
with values is written to --out FILE atomically with mode 0600, or printed with --out -; the
github-actions format holds only \${{ secrets.NAME }} references and prints by default.
A secret whose variable would change how programs load code (NODE_OPTIONS, LD_PRELOAD,
PATH, ...: see docs/injection.md) stops the export, in every format, unless --allow-env-name
or allow_env_names in the project file allows it.

Examples:
  coffer export --project consilio --env prod --format dotenv --out .env.prod
  coffer export -p consilio -e prod -F compose -o deploy/app.env    # prints the compose snippet
  coffer export -p consilio -e prod -F k8s --namespace web --apply
  coffer export -p consilio -e prod -F github-actions >> .github/workflows/deploy.yml
  coffer export -p consilio -e dev -F shell -o - | source /dev/stdin`,
    )
    .action(action<ExportOptions>(async (_args, opts, g) => runExport(opts, g)));
}
