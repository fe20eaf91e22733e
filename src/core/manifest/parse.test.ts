import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { refusedPreviousName } from '../rotation/previous-name.js';
import { rotationHints, sourceFor } from './model.js';
import {
  ManifestError,
  type ManifestOptions,
  manifestAllowedNames,
  parseManifest,
} from './parse.js';

const RECEPTOR = `# coffer manifest for the receptor stack
project: receptor
environments: [dev, prod]
variables:
  JWT_SECRET:
    description: Signs the API's session tokens; rotating it logs every user out
    tier: 1
    rotation: 365d
    sources:
      dev: { generate: "hex:32" }
      prod: { env: JWT_SECRET }
  OPENAI_API_KEY:
    description: OpenAI API key the assistant uses for chat completions
    tier: 2
    source: ask
    rotate: https://platform.openai.com/api-keys
  OPENAI_BASE_URL:
    description: Base URL of the OpenAI-compatible API the assistant calls
    sensitive: false
    required: false
    source: { value: "https://api.openai.com/v1" }
`;

function issuesOf(text: string): { line: number; col: number; message: string }[] {
  try {
    parseManifest(text, 'coffer.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ManifestError);
    expect((err as ManifestError).code).toBe('INVALID_MANIFEST');
    for (const i of (err as ManifestError).issues) {
      expect((err as ManifestError).message).toContain(`coffer.yaml:${i.line}:${i.col}: `);
    }
    return [...(err as ManifestError).issues];
  }
  throw new Error('the manifest was accepted');
}

describe('parseManifest', () => {
  it('reads a manifest with its defaults filled in', () => {
    const m = parseManifest(RECEPTOR, 'coffer.yaml');
    expect(m.project).toBe('receptor');
    expect(m.environments).toEqual(['dev', 'prod']);
    expect(m.variables.map((v) => v.name)).toEqual([
      'JWT_SECRET',
      'OPENAI_API_KEY',
      'OPENAI_BASE_URL',
    ]);
    const [jwt, openai, base] = m.variables;
    expect(jwt).toMatchObject({
      path: 'project/receptor/jwt_secret',
      tier: 1,
      sensitive: true,
      required: true,
      rotation: '365d',
      localOnly: false,
    });
    expect(sourceFor(jwt!, 'dev')).toEqual({ kind: 'generate', spec: 'hex:32' });
    expect(sourceFor(jwt!, 'prod')).toEqual({ kind: 'env', variable: 'JWT_SECRET' });
    expect(sourceFor(jwt!, 'staging')).toEqual({ kind: 'ask' });
    expect(sourceFor(openai!, 'prod')).toEqual({ kind: 'ask' });
    expect(openai!.rotate).toBe('https://platform.openai.com/api-keys');
    expect(base).toMatchObject({ sensitive: false, required: false });
    expect(sourceFor(base!, 'prod')).toEqual({
      kind: 'value',
      value: 'https://api.openai.com/v1',
    });
  });

  it('accepts the one-line project file of earlier versions', () => {
    const m = parseManifest(
      'project: consilio\nenv: dev\nallow_env_names: NODE_OPTIONS, JAVA_TOOL_OPTIONS\n',
      'coffer.yaml',
    );
    expect(m).toMatchObject({
      project: 'consilio',
      env: 'dev',
      allowEnvNames: ['NODE_OPTIONS', 'JAVA_TOOL_OPTIONS'],
      variables: [],
    });
  });

  it.each([
    ['bad YAML', 'project: a\nvariables: [\n', 3, /flow|end|expected/i],
    ['a tab-indented mapping', 'project: a\nvariables:\n\tX: 1\n', 3, /tab/i],
    [
      'an unknown key, pointing at the key',
      'project: a\nvariables:\n  X_KEY:\n    description: Signs the webhook payloads sent to partners\n    descripton: typo\n',
      5,
      /unknown key "descripton".*known keys: description/,
    ],
    [
      'a bad generator spec',
      'project: a\nvariables:\n  X_KEY:\n    description: Signs the webhook payloads sent to partners\n    source: { generate: "hex:0" }\n',
      5,
      /generate/,
    ],
    [
      'a bad tier',
      'project: a\nvariables:\n  X_KEY:\n    description: Signs the webhook payloads sent to partners\n    tier: 4\n',
      5,
      /tier must be 1, 2 or 3/,
    ],
    [
      'a duplicate variable',
      'project: a\nvariables:\n  X_KEY:\n    description: Signs the webhook payloads sent to partners\n  X_KEY:\n    description: Signs the webhook payloads sent to partners\n',
      5,
      /unique/i,
    ],
    [
      'two names for one key path',
      'project: a\nvariables:\n  X_KEY:\n    description: Signs the webhook payloads sent to partners\n  x_key:\n    description: Signs the webhook payloads sent to partners\n',
      5,
      /key path project\/a\/x_key is also X_KEY's/,
    ],
    [
      'a value on a sensitive variable',
      'project: a\nvariables:\n  X_KEY:\n    description: Signs the webhook payloads sent to partners\n    source: { value: hunter2 }\n',
      5,
      /sensitive variable may not carry a value/,
    ],
    [
      'a vague description',
      'project: a\nvariables:\n  X_KEY:\n    description: API key\n',
      4,
      /does not say what the secret is for/,
    ],
    [
      'a rotation policy outside the grammar',
      'project: a\nvariables:\n  X_KEY:\n    description: Signs the webhook payloads sent to partners\n    rotation: yearly\n',
      5,
      /rotation policy/,
    ],
    [
      'a source for an environment that does not exist',
      'project: a\nenvironments: [dev, prod]\nvariables:\n  X_KEY:\n    description: Signs the webhook payloads sent to partners\n    sources:\n      production: ask\n',
      7,
      /"production" is not in environments \(dev, prod\); did you mean prod\?/,
    ],
    [
      'a source of the wrong form',
      'project: a\nvariables:\n  X_KEY:\n    description: Signs the webhook payloads sent to partners\n    source: prompt\n',
      5,
      /a source is ask, \{generate: SPEC\}/,
    ],
    ['a missing project', 'variables: {}\n', 1, /project is required/],
    ['a bad project name', 'project: My App\n', 1, /not a project name/],
    ['a list where a mapping goes', 'project: a\nvariables: [A, B]\n', 2, /expected a mapping/],
  ])('%s is an error at its line', (_name, text, line, message) => {
    const issues = issuesOf(text);
    expect(issues.length).toBeGreaterThan(0);
    expect(issues[0]!.line).toBe(line);
    expect(issues[0]!.col).toBeGreaterThan(0);
    expect(issues.map((i) => i.message).join('\n')).toMatch(message);
  });

  it('reports every problem at once', () => {
    const issues = issuesOf(
      [
        'project: a',
        'variables:',
        '  A_KEY:',
        '    description: x',
        '  B_KEY:',
        '    description: Signs the webhook payloads sent to partners',
        '    tier: 7',
        '  C_KEY:',
        '    description: Signs the webhook payloads sent to partners',
        '    colour: red',
        '',
      ].join('\n'),
    );
    expect(issues.map((i) => i.line)).toEqual([4, 7, 10]);
  });

  /** A manifest of one variable whose `previous:` is NODE_OPTIONS, with `allow` allowed. */
  const withPrevious = (allow: string) =>
    [
      'project: a',
      ...(allow ? [`allow_env_names: [${allow}]`] : []),
      'variables:',
      '  SESSION_KEY:',
      '    description: Signs the session cookies of the web app',
      '    previous: NODE_OPTIONS',
      '',
    ].join('\n');

  it('refuses a previous: name coffer would not inject, unless allow_env_names lets it', () => {
    const issues = issuesOf(withPrevious(''));
    expect(issues).toMatchObject([{ message: expect.stringContaining('previous: NODE_OPTIONS') }]);
    expect(parseManifest(withPrevious('NODE_OPTIONS'), 'coffer.yaml').variables[0]?.previous).toBe(
      'NODE_OPTIONS',
    );
  });

  it('judges a previous: name by the rule rotate applies, with the names allowed as for the variables', () => {
    const file = (project: string) => ({
      project,
      allowEnvNames: ['NODE_OPTIONS'],
      file: '/w/.coffer',
    });
    const cases: { allow: string; options: ManifestOptions }[] = [
      { allow: '', options: {} },
      { allow: 'node_options', options: {} },
      { allow: 'NODE_OPTIONS', options: {} },
      { allow: '', options: { allowEnvNames: ['node_options'] } },
      { allow: '', options: { projectFile: file('a') } },
      { allow: '', options: { projectFile: file('billing') } },
      { allow: 'LD_PRELOAD', options: { allowEnvNames: ['LD_PRELOAD'] } },
    ];
    for (const { allow, options } of cases) {
      let accepted: boolean;
      try {
        parseManifest(withPrevious(allow), 'coffer.yaml', options);
        accepted = true;
      } catch (err) {
        expect((err as ManifestError).issues?.[0]?.message).toContain('previous: NODE_OPTIONS');
        accepted = false;
      }
      // What `coffer rotate` decides with the names coffer.yaml is read with (load.ts).
      const allowed = manifestAllowedNames(allow ? [allow] : [], 'a', options);
      const rotateAccepts =
        refusedPreviousName('project/a/session_key', 'NODE_OPTIONS', allowed) === undefined;
      expect(accepted, JSON.stringify({ allow, options })).toBe(rotateAccepts);
    }
    // Allowed by the caller, the project file of the same project, or the manifest in any case.
    expect(
      parseManifest(withPrevious(''), 'coffer.yaml', { projectFile: file('a') }).variables[0]
        ?.previous,
    ).toBe('NODE_OPTIONS');
    expect(
      parseManifest(withPrevious(''), 'coffer.yaml', { allowEnvNames: ['node_options'] })
        .variables[0]?.previous,
    ).toBe('NODE_OPTIONS');
    expect(parseManifest(withPrevious('node_options'), 'coffer.yaml').variables[0]?.previous).toBe(
      'NODE_OPTIONS',
    );
    expect(issuesOf(withPrevious(''))[0]?.message).toMatch(/allow_env_names/);
  });

  it('refuses a variable path in another project, naming the variable and the rule', () => {
    // The security review's manifest: another project's secret read into this .env, and a
    // secret (with an env-var name) created in a third project.
    const issues = issuesOf(
      [
        'project: app',
        'variables:',
        '  HARMLESS:',
        '    description: Stripe API key used by the billing module',
        '    path: project/other/api_key',
        '    source: {generate: hex:32}',
        '  BASH_ENV:',
        '    description: Shell init file used by the worker scripts',
        '    path: project/victim/bash_env_file',
        '    source: {generate: hex:32}',
        '',
      ].join('\n'),
    );
    expect(issues).toMatchObject([
      {
        line: 5,
        message: expect.stringMatching(
          /^variables\.HARMLESS\.path: project\/other\/api_key is another project's secret; the variables of project app are under project\/app\//,
        ),
      },
      {
        line: 9,
        message: expect.stringMatching(
          /^variables\.BASH_ENV\.path: project\/victim\/bash_env_file is another project's secret/,
        ),
      },
    ]);
  });

  it('takes a path of its own project under any name', () => {
    const m = parseManifest(
      'project: shop\nvariables:\n  STRIPE_SECRET_KEY:\n    description: Stripe secret key the checkout service charges cards with\n    path: project/shop/stripe_key\n    source: ask\n',
      'coffer.yaml',
    );
    expect(m.variables[0]).toMatchObject({
      name: 'STRIPE_SECRET_KEY',
      path: 'project/shop/stripe_key',
    });
  });

  it('reads a shared meta/ secret under its own name only, and never says how to make it', () => {
    const shared = (name: string, more: string[] = []) =>
      [
        'project: app',
        'variables:',
        `  ${name}:`,
        '    description: Cloudflare API token the deploy script purges the cache with',
        '    path: meta/cloudflare/api_token',
        ...more,
        '',
      ].join('\n');
    const m = parseManifest(shared('API_TOKEN', ['    required: false']), 'coffer.yaml');
    expect(m.variables[0]).toMatchObject({
      name: 'API_TOKEN',
      path: 'meta/cloudflare/api_token',
      required: false,
    });
    expect(issuesOf(shared('HARMLESS'))).toMatchObject([
      {
        line: 5,
        message:
          'variables.HARMLESS.path: a shared secret is read under its own name: meta/cloudflare/api_token is API_TOKEN, not HARMLESS',
      },
    ]);
    const made = issuesOf(
      shared('API_TOKEN', [
        '    source: {generate: hex:32}',
        '    sources: {dev: ask}',
        '    tier: 2',
      ]),
    );
    expect(made.map((i) => [i.line, i.message.split(':')[0]])).toEqual([
      [6, 'variables.API_TOKEN.source'],
      [7, 'variables.API_TOKEN.sources'],
      [8, 'variables.API_TOKEN.tier'],
    ]);
    expect(made[0]!.message).toContain(
      'meta/cloudflare/api_token is a shared secret that this manifest only reads',
    );
  });

  it('refuses a billion-laughs alias bomb without expanding it', () => {
    const lines = ['project: a', 'x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
    for (let i = 1; i < 12; i++) {
      lines.push(
        `x${i}: &a${i} [${Array(10)
          .fill(`*a${i - 1}`)
          .join(', ')}]`,
      );
    }
    const issues = issuesOf(`${lines.join('\n')}\n`);
    expect(issues[0]!.message).toMatch(/alias/i);
  });

  it('quotes nothing of the file longer than a name', () => {
    const long = 'k'.repeat(3000);
    for (const text of [
      `project: a\nvariables:\n  ${long.toUpperCase()}:\n    description: Signs the webhooks\n`,
      `project: a\nsources:\n  ${long}: 1\n`,
      `project: a\nx: *${long}\n`,
    ]) {
      const issues = issuesOf(text);
      expect(issues.length).toBeGreaterThan(0);
      for (const i of issues) expect(i.message.length, i.message.slice(0, 80)).toBeLessThan(400);
    }
  });

  it('refuses a manifest over 1 MiB before parsing it', () => {
    const issues = issuesOf(`project: a\n# ${'x'.repeat(1024 * 1024)}\n`);
    expect(issues[0]!.message).toMatch(/larger than/);
  });

  it('never throws anything but a ManifestError on random input (fuzz)', () => {
    const value = fc.letrec((tie) => ({
      any: fc.oneof(
        { depthSize: 'small' },
        fc.string({ maxLength: 12 }),
        fc.integer(),
        fc.boolean(),
        fc.constant(null),
        fc.array(tie('any'), { maxLength: 3 }),
        fc.dictionary(
          fc.constantFrom(
            'project',
            'variables',
            'environments',
            'description',
            'source',
            'sources',
            'tier',
            'X_KEY',
            'dev',
            'generate',
            'env',
            'value',
            'sensitive',
          ),
          tie('any'),
          { maxKeys: 4 },
        ),
      ),
    })).any;
    fc.assert(
      fc.property(
        fc.oneof(
          value.map((v) => stringify(v)),
          fc.string({ maxLength: 80 }),
        ),
        (text) => {
          try {
            parseManifest(text, 'coffer.yaml');
          } catch (err) {
            expect(err).toBeInstanceOf(ManifestError);
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});

describe('rotationHints', () => {
  const m = parseManifest(
    RECEPTOR.replace('    rotate: https', '    previous: OPENAI_API_KEY_OLD\n    rotate: https'),
    'coffer.yaml',
  );
  const byName = (name: string) => m.variables.find((v) => v.name === name);

  it('gives the generator of the environment, the previous name and the provider steps', () => {
    expect(rotationHints(byName('JWT_SECRET'), 'dev')).toEqual({
      generator: 'hex:32',
      previousName: null,
      steps: null,
    });
    // prod takes it from the environment: not generated there.
    expect(rotationHints(byName('JWT_SECRET'), 'prod').generator).toBeNull();
    expect(rotationHints(byName('OPENAI_API_KEY'), 'prod')).toEqual({
      generator: null,
      previousName: 'OPENAI_API_KEY_OLD',
      steps: 'https://platform.openai.com/api-keys',
    });
  });

  it('is all null for a secret the manifest does not list', () => {
    expect(rotationHints(undefined, 'prod')).toEqual({
      generator: null,
      previousName: null,
      steps: null,
    });
  });
});

describe('a variable whose name makes programs load code', () => {
  const text = (allow = '') => `project: app
${allow}variables:
  SESSION_KEY:
    description: Signs the session cookies of the app
    source: {generate: "hex:32"}
  NODE_OPTIONS:
    description: Node.js runtime flags of the app server
    sensitive: false
    source: {value: "--require ./evil.js"}
`;
  const refusal = (t: string, options = {}) => {
    try {
      parseManifest(t, 'coffer.yaml', options);
    } catch (err) {
      return err as { code: string; message: string; hint?: string };
    }
    throw new Error('expected a refusal');
  };

  it('is refused (INVALID_ARGUMENT) naming it, its key path and its line, never the value', () => {
    const err = refusal(text());
    expect(err.code).toBe('INVALID_ARGUMENT');
    expect(err.message).toContain(
      'coffer.yaml:6:3: variables.NODE_OPTIONS (project/app/node_options): ',
    );
    expect(err.hint).toContain('allow_env_names: [NODE_OPTIONS]');
    expect(`${err.message} ${err.hint}`).not.toContain('evil.js');
    // In any case: node_options is NODE_OPTIONS on Windows and to npm.
    const lower = text().replace('  NODE_OPTIONS:', '  node_options:');
    expect(refusal(lower).message).toContain('variables.node_options');
  });

  it('passes when the manifest, the caller or the project file of the same project allows it', () => {
    const names = (t: string, options = {}) =>
      parseManifest(t, 'coffer.yaml', options).variables.map((v) => v.name);
    expect(names(text('allow_env_names: [NODE_OPTIONS]\n'))).toContain('NODE_OPTIONS');
    expect(names(text(), { allowEnvNames: ['node_options'] })).toContain('NODE_OPTIONS');
    const file = { project: 'app', allowEnvNames: ['NODE_OPTIONS'], file: '/w/.coffer' };
    expect(names(text(), { projectFile: file })).toContain('NODE_OPTIONS');
    // Another project's file allows nothing here.
    expect(refusal(text(), { projectFile: { ...file, project: 'billing' } }).code).toBe(
      'INVALID_ARGUMENT',
    );
  });
});
