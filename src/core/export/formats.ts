/**
 * What `coffer export` writes: a project's variables for one environment in the format a
 * deploy target reads. String in, string out; writing files is the caller's (files.ts, 0600).
 *
 * - `dotenv`: dotenv's grammar (dotenv/format.ts), read back unchanged by the `dotenv` package.
 * - `json`: one object, variable name to value.
 * - `shell`: `export NAME='value'` lines for sh/bash/zsh (single quotes; `'` as `'\''`).
 * - `compose`: the env_file itself, in the quoting both Compose v1 and v2 read back unchanged
 *   (composeValue), plus, separately, the compose snippet that points a service at it
 *   (composeSnippet: no value).
 * - `k8s`: a `v1` `Secret` manifest, values base64 in `data` (no YAML quoting of values).
 * - `github-actions`: a workflow `env:` block of `${{ secrets.NAME }}` references: names only,
 *   never a value (the values go to GitHub with `coffer sync --target github`).
 */

import { formatDotenv } from '../dotenv/format.js';
import { CofferError } from '../errors.js';

export const EXPORT_FORMATS = [
  'dotenv',
  'json',
  'shell',
  'compose',
  'k8s',
  'github-actions',
] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** One variable to export: its env-var name, key path and (resolved) value. */
export interface ExportVariable {
  name: string;
  path: string;
  value: string;
}

/** Whether a format's output holds values (and so goes only to a 0600 file or stdout on request). */
export function formatHoldsValues(format: ExportFormat): boolean {
  return format !== 'github-actions';
}

export function parseExportFormat(text: string): ExportFormat {
  if ((EXPORT_FORMATS as readonly string[]).includes(text)) return text as ExportFormat;
  throw new CofferError('USAGE', `unknown export format ${text.slice(0, 40)}`, {
    hint: `Use one of: ${EXPORT_FORMATS.join(', ')}.`,
  });
}

const shellQuote = (v: string): string => `'${v.replace(/'/g, `'\\''`)}'`;

/**
 * A value as Docker Compose reads an env_file, v2 (compose-go: `$` interpolated in double
 * quotes and unquoted, backslash escapes in double quotes, single quotes literal) and v1
 * alike: in single quotes when it can be (no quote, no line break, no final backslash), read
 * literally by both; else in double quotes with `\\`, `\"` and `\n` escapes when it holds
 * no `$` (which v2 would interpolate and v1 would not) and does not end in a backslash. A value neither form carries is
 * refused by name: it goes to Compose some other way (coffer run in the container).
 */
function composeValue(v: ExportVariable): string {
  if (!/['\r\n]/.test(v.value) && !v.value.endsWith('\\')) return `'${v.value}'`;
  // A `\\` right before the closing quote throws Compose v1's parser off for the lines after.
  if (!v.value.includes('$') && !v.value.endsWith('\\')) {
    const escaped = v.value
      .replace(/\\/g, '\\\\')
      .replace(/"/g, '\\"')
      .replace(/\n/g, '\\n')
      .replace(/\r/g, '\\r');
    return `"${escaped}"`;
  }
  throw new CofferError(
    'INVALID_VALUE',
    `the value of ${v.name} holds a quote or a line break together with a $ or a final backslash: Docker Compose versions read it differently in an env_file`,
    {
      hint: 'Run the container with `coffer run` (or pass the variable another way); nothing was written.',
    },
  );
}

/** A Kubernetes object name from a project and environment (RFC 1123 subdomain). */
export function k8sName(project: string, env: string): string {
  const name = `${project}-${env}`
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, '-')
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
  return name.slice(0, 253) || 'coffer';
}

/** A YAML double-quoted scalar (JSON strings are valid YAML 1.2 double-quoted scalars). */
const yamlString = (s: string): string => JSON.stringify(s);

export interface FormatOptions {
  project: string;
  env: string;
  /** For k8s: the Secret's name (default `<project>-<env>`) and namespace. */
  name?: string | undefined;
  namespace?: string | undefined;
}

/** The export of `vars` in `format`. */
export function formatExport(
  format: ExportFormat,
  vars: readonly ExportVariable[],
  o: FormatOptions,
): string {
  switch (format) {
    case 'dotenv':
      return formatDotenv(Object.fromEntries(vars.map((v) => [v.name, v.value])));
    case 'compose':
      return vars.map((v) => `${v.name}=${composeValue(v)}\n`).join('');
    case 'json': {
      const out: Record<string, string> = {};
      for (const v of vars) out[v.name] = v.value;
      return `${JSON.stringify(out, null, 2)}\n`;
    }
    case 'shell':
      for (const v of vars) assertShellName(v.name);
      return vars.map((v) => `export ${v.name}=${shellQuote(v.value)}\n`).join('');
    case 'k8s': {
      const lines = [
        'apiVersion: v1',
        'kind: Secret',
        'metadata:',
        `  name: ${yamlString(o.name ?? k8sName(o.project, o.env))}`,
        ...(o.namespace !== undefined ? [`  namespace: ${yamlString(o.namespace)}`] : []),
        '  labels:',
        '    app.kubernetes.io/managed-by: coffer',
        '  annotations:',
        `    coffer.dev/source: ${yamlString(`project/${o.project} (${o.env})`)}`,
        'type: Opaque',
        vars.length === 0 ? 'data: {}' : 'data:',
        ...vars.map(
          (v) => `  ${yamlString(v.name)}: ${Buffer.from(v.value, 'utf8').toString('base64')}`,
        ),
      ];
      for (const v of vars) assertK8sKey(v.name);
      return `${lines.join('\n')}\n`;
    }
    case 'github-actions':
      return githubActionsEnv(vars.map((v) => v.name));
  }
}

/** The `env:` block of a GitHub Actions workflow referring to repository secrets by name. */
export function githubActionsEnv(names: readonly string[]): string {
  if (names.length === 0) return 'env: {}\n';
  for (const n of names) assertGithubSecretName(n);
  return `env:\n${names.map((n) => `  ${n}: \${{ secrets.${n} }}\n`).join('')}`;
}

/** The compose snippet that loads `envFile` into a service (no value in it). */
export function composeSnippet(envFile: string, service = 'app'): string {
  return `services:\n  ${service}:\n    env_file:\n      - ${yamlString(envFile)}\n`;
}

function assertShellName(name: string): void {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    throw new CofferError('INVALID_ARGUMENT', `${name} is not a shell variable name`, {
      hint: 'Give the secret another env-var name with `coffer describe PATH --env-var NAME`.',
    });
  }
}

function assertK8sKey(name: string): void {
  if (!/^[-._a-zA-Z0-9]+$/.test(name) || name.length > 253) {
    throw new CofferError('INVALID_ARGUMENT', `${name} is not a valid key of a Kubernetes Secret`);
  }
}

/** GitHub: letters, digits and `_`, not starting with a digit or GITHUB_. */
export function assertGithubSecretName(name: string): void {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || /^GITHUB_/i.test(name)) {
    throw new CofferError('INVALID_ARGUMENT', `${name} cannot be a GitHub Actions secret name`, {
      hint: 'GitHub secret names are letters, digits and _, and may not start with a digit or GITHUB_; give the secret another env-var name with `coffer describe PATH --env-var NAME`.',
    });
  }
}
