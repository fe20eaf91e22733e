import { describe, expect, it } from 'vitest';
import { parseDotenv } from '../dotenv/parse.js';
import { scanText } from '../scan/scanner.js';
import { manifestEnvExample } from './example.js';
import { parseManifest } from './parse.js';

/** Seed 004's variables as a manifest: its sections become groups. */
const SEED_004 = `project: agents
environments: [dev, prod]
variables:
  OPENAI_API_KEY:
    group: API Keys
    description: OpenAI API key the agents use for chat completions
    tier: 2
    source: ask
  OPENAI_BASE_URL:
    group: API Keys
    description: Base URL of the OpenAI-compatible API the agents call
    sensitive: false
    source: { value: "https://api.openai.com/v1" }
  SECRET_KEY:
    group: Security
    description: Signs the web sessions of the agents dashboard
    tier: 1
    source: { generate: "urlsafe:32" }
  ENCRYPTION_KEY:
    group: Security
    description: Fernet key that encrypts stored provider credentials
    tier: 3
    source: { generate: fernet }
  DATABASE_URL:
    group: Database
    description: PostgreSQL connection URL of the agents database
    tier: 1
    sources: { prod: { env: DATABASE_URL }, default: ask }
  MINIO_ROOT_USER:
    group: Storage (MinIO)
    description: MinIO root user name for the object storage of agent files
    source: ask
  MINIO_ROOT_PASSWORD:
    group: Storage (MinIO)
    description: MinIO root password for the object storage of agent files
    tier: 1
    source: { generate: "password:24" }
  S3_ENDPOINT_URL:
    group: Storage (MinIO)
    description: S3 endpoint URL of the MinIO server the agents store files in
    sensitive: false
    source: { value: "http://localhost:9000" }
`;

describe('.env.example from the manifest', () => {
  const manifest = parseManifest(SEED_004, 'coffer.yaml');
  const text = manifestEnvExample(manifest);

  it("has the seed's sections, in order, with its variables under each", () => {
    const sections: [string, string[]][] = [];
    for (const line of text.split('\n')) {
      const title = /^# (API Keys|Security|Database|Storage \(MinIO\))$/.exec(line);
      if (title) sections.push([title[1]!, []]);
      const variable = /^([A-Z0-9_]+)=/.exec(line);
      if (variable) sections.at(-1)![1].push(variable[1]!);
    }
    expect(sections).toEqual([
      ['API Keys', ['OPENAI_API_KEY', 'OPENAI_BASE_URL']],
      ['Security', ['SECRET_KEY', 'ENCRYPTION_KEY']],
      ['Database', ['DATABASE_URL']],
      ['Storage (MinIO)', ['MINIO_ROOT_USER', 'MINIO_ROOT_PASSWORD', 'S3_ENDPOINT_URL']],
    ]);
  });

  it('keeps plain settings and puts a placeholder that says what goes there elsewhere', () => {
    expect(parseDotenv(text)).toEqual({
      OPENAI_API_KEY: 'your-openai-api-key',
      OPENAI_BASE_URL: 'https://api.openai.com/v1',
      SECRET_KEY: 'generate-urlsafe-32',
      ENCRYPTION_KEY: 'generate-fernet',
      DATABASE_URL: 'your-database-url',
      MINIO_ROOT_USER: 'your-minio-root-user',
      MINIO_ROOT_PASSWORD: 'generate-password-24',
      S3_ENDPOINT_URL: 'http://localhost:9000',
    });
    expect(text).toContain('# OpenAI API key the agents use for chat completions\n');
  });

  it("passes coffer's own secret scanner, for every generator and environment", () => {
    const specs = [
      'hex:32',
      'base64:32',
      'urlsafe:32',
      'password:24',
      'alnum:40',
      'jwt:64',
      'fernet',
    ];
    const m = parseManifest(
      [
        'project: a',
        'variables:',
        ...specs.flatMap((spec, i) => [
          `  SECRET_${i}_KEY:`,
          '    description: A generated secret of the app for signing',
          `    sources: { dev: { generate: "${spec}" }, prod: { env: SECRET_${i}_KEY } }`,
        ]),
        '',
      ].join('\n'),
      'coffer.yaml',
    );
    for (const env of ['dev', 'prod']) {
      expect(scanText(manifestEnvExample(m, env), '.env.example')).toEqual([]);
    }
    expect(scanText(text, '.env.example')).toEqual([]);
  });

  it("uses the environment's own sources", () => {
    expect(parseDotenv(manifestEnvExample(manifest, 'prod')).DATABASE_URL).toBe(
      'set-from-DATABASE_URL',
    );
  });

  it('groups by tier when a variable has no group', () => {
    const m = parseManifest(
      'project: a\nvariables:\n  JWT_SECRET:\n    description: Signs the session tokens of the API\n    tier: 1\n',
      'coffer.yaml',
    );
    expect(manifestEnvExample(m)).toContain('# Tier 1: infrastructure core\n');
  });
});
