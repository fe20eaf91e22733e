import { describe, expect, it } from 'vitest';
import { parseManifest } from './parse.js';
import { missingOf, planSetup, type SetupState } from './setup-plan.js';

/** Seed 002's receptor project: tier 1 generated in dev and injected in prod; tier 2 asked. */
const RECEPTOR = parseManifest(
  `project: receptor
environments: [dev, prod]
variables:
  JWT_SECRET:
    description: Signs the API's session tokens; rotating it logs every user out
    tier: 1
    sources: { dev: { generate: "hex:32" }, prod: { env: JWT_SECRET } }
  POSTGRES_PASSWORD:
    description: Password of the postgres superuser of the receptor database
    tier: 1
    sources: { dev: { generate: "password:32" }, prod: { env: POSTGRES_PASSWORD } }
  SERVICE_ROLE_KEY:
    description: Service-role JWT the backend uses to bypass row-level security
    tier: 1
    source: { generate: "jwt:32" }
  OPENAI_API_KEY:
    description: OpenAI API key the assistant uses for chat completions
    tier: 2
    source: ask
  SMTP_PASS:
    description: Password of the SMTP account that sends sign-up mails
    tier: 2
    required: false
    source: ask
  PUBLIC_URL:
    description: Public base URL of the receptor web app
    sensitive: false
    source: { value: "http://localhost:3000" }
`,
  'coffer.yaml',
);

const none: SetupState = {
  inVault: new Set(),
  deletedInVault: new Set(),
  inFile: new Set(),
  processEnv: new Set(),
  interactive: false,
  generateMissing: false,
};

const actions = (env: string, state: Partial<SetupState> = {}) =>
  Object.fromEntries(
    planSetup(RECEPTOR, env, { ...none, ...state }).map((p) => [p.variable.name, p.step.action]),
  );

describe('planSetup', () => {
  it('dev: generates tier 1, asks for the rest on a terminal, writes plain settings', () => {
    expect(actions('dev', { interactive: true })).toEqual({
      JWT_SECRET: 'generate',
      POSTGRES_PASSWORD: 'generate',
      SERVICE_ROLE_KEY: 'generate',
      OPENAI_API_KEY: 'ask',
      SMTP_PASS: 'ask',
      PUBLIC_URL: 'value',
    });
  });

  it('keeps what the vault has and imports what only the .env file has', () => {
    expect(
      actions('dev', {
        inVault: new Set(['JWT_SECRET']),
        inFile: new Set(['JWT_SECRET', 'OPENAI_API_KEY']),
      }),
    ).toMatchObject({ JWT_SECRET: 'keep', OPENAI_API_KEY: 'import' });
  });

  it('prod without a terminal and nothing exported: every tier 1 name is missing at once', () => {
    const plan = planSetup(RECEPTOR, 'prod', none);
    expect(missingOf(plan).map((p) => p.variable.name)).toEqual([
      'JWT_SECRET',
      'POSTGRES_PASSWORD',
      'SERVICE_ROLE_KEY',
      'OPENAI_API_KEY',
    ]);
    expect(actions('prod').SMTP_PASS).toBe('skip');
  });

  it('prod: an exported variable is used, never generated over', () => {
    expect(
      actions('prod', { processEnv: new Set(['JWT_SECRET', 'SERVICE_ROLE_KEY']) }),
    ).toMatchObject({
      JWT_SECRET: 'from-env',
      SERVICE_ROLE_KEY: 'from-env',
      POSTGRES_PASSWORD: 'missing',
    });
  });

  it('prod: tier 1 is generated only with --generate-missing', () => {
    expect(actions('prod').SERVICE_ROLE_KEY).toBe('missing');
    expect(actions('prod', { generateMissing: true }).SERVICE_ROLE_KEY).toBe('generate');
  });

  it('a deleted secret is not revived', () => {
    expect(actions('dev', { deletedInVault: new Set(['JWT_SECRET']) }).JWT_SECRET).toBe('missing');
  });

  it('a typo of an environment is an error with a suggestion', () => {
    let err: unknown;
    try {
      planSetup(RECEPTOR, 'production', none);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'INVALID_ENV', hint: 'did you mean --env prod?' });
  });
});
