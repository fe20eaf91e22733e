import { describe, expect, it } from 'vitest';
import { CofferError } from './errors.js';
import { parseKeyPath, parsePathPrefix, parseProjectName } from './paths.js';
import { closestPaths, emptyListHint, suggestFromExisting } from './suggest-paths.js';

const existing = [
  { path: 'project/consilio/stripe_api_key', env: 'dev' },
  { path: 'project/consilio/stripe_api_key', env: 'prod' },
  { path: 'project/consilio/db_password', env: 'prod' },
  { path: 'project/odin/openai_api_key', env: 'dev' },
  { path: 'meta/cloudflare/api_token', env: 'dev' },
];

function errorOf(fn: () => unknown): CofferError {
  try {
    fn();
  } catch (e) {
    return e as CofferError;
  }
  throw new Error('no error');
}

const notFound = (path: string, env: string) =>
  new CofferError('SECRET_NOT_FOUND', `no secret ${path} in environment ${env}`);

describe('suggestions from what exists', () => {
  it.each([
    ['project/consilio/stripe_apikey', 'dev', 'did you mean project/consilio/stripe_api_key?'],
    ['project/consilo/stripe_api_key', 'dev', 'did you mean project/consilio/stripe_api_key?'],
    ['project/consilio/stripe-api-key', 'dev', 'did you mean project/consilio/stripe_api_key?'],
    [
      'project/consilio/stripe_api_key',
      'prd',
      'project/consilio/stripe_api_key exists in environments dev, prod: did you mean --env prod?',
    ],
    ['project/consilio/db_pasword', 'dev', 'did you mean project/consilio/db_password (in prod)?'],
  ])('%s in %s', (path, env, hint) => {
    const e = suggestFromExisting(
      notFound(path, env),
      { kind: 'path', input: path, env },
      existing,
    );
    expect(e.code).toBe('SECRET_NOT_FOUND');
    expect(e.message).toBe(`no secret ${path} in environment ${env}`);
    expect(e.hint).toBe(`${hint} (\`coffer list\` lists what exists)`);
  });

  it('an invalid path gets an existing one before a made-up grammar fix', () => {
    const bare = errorOf(() => parseKeyPath('stripe_api_key'));
    // Alone, the grammar makes up no project from a secret's name.
    expect(bare.hint).toContain('give the full path: project/{project}/stripe_api_key');
    expect(bare.hint).not.toContain('project/stripe/api_key');
    const e = suggestFromExisting(
      bare,
      { kind: 'path', input: 'stripe_api_key', env: 'dev' },
      existing,
    );
    expect(e.hint).toMatch(/^did you mean project\/consilio\/stripe_api_key\? \(key paths are/);
    const upper = errorOf(() => parseKeyPath('project/CONSILIO/Stripe_Api_Key'));
    const fixed = suggestFromExisting(
      upper,
      { kind: 'path', input: 'project/CONSILIO/Stripe_Api_Key', env: 'dev' },
      existing,
    );
    expect(fixed.hint).toMatch(/^did you mean project\/consilio\/stripe_api_key\? \(key paths are/);
    // Nothing close: the grammar fix stays.
    const far = errorOf(() => parseKeyPath('project/CONSILIO/Key'));
    const same = suggestFromExisting(
      far,
      { kind: 'path', input: 'project/CONSILIO/Key' },
      existing,
    );
    expect(same.hint).toContain('did you mean project/consilio/key');
  });

  it('a key path given to list is named as a secret, with its prefix', () => {
    const err = errorOf(() => parsePathPrefix('project/consilio/stripe_api_key'));
    expect(err.hint).not.toContain('_x');
    expect(err.hint).toContain('did you mean project/consilio?');
    const e = suggestFromExisting(
      err,
      { kind: 'prefix', input: 'project/consilio/stripe_api_key' },
      existing,
    );
    expect(e.hint).toContain('project/consilio/stripe_api_key is a secret, not a prefix');
    expect(e.hint).toContain('`coffer list project/consilio`');
  });

  it('a project given as a path gets the project that exists', () => {
    const err = errorOf(() => parseProjectName('project/consilio'));
    expect(err.code).toBe('INVALID_PATH');
    expect(err.hint).not.toContain('project/project');
    expect(err.hint).toContain('did you mean consilio?');
    const e = suggestFromExisting(err, { kind: 'project', input: 'project/consilio' }, existing);
    expect(e.hint).toBe('did you mean --project consilio?');
  });

  it('an invalid environment gets the closest existing one', () => {
    const err = new CofferError('INVALID_ENV', 'invalid environment "Prd"');
    const e = suggestFromExisting(err, { kind: 'path', input: 'x', env: 'Prd' }, existing);
    expect(e.hint).toBe('did you mean prod? (environments: dev, prod)');
  });

  it('an empty list says what is close', () => {
    expect(emptyListHint('project/consilo', undefined, existing)).toBe(
      'did you mean project/consilio?',
    );
    expect(emptyListHint('project/consilio', 'prd', existing)).toBe(
      'did you mean --env prod? project/consilio has secrets in dev, prod',
    );
    expect(emptyListHint(undefined, 'prd', existing)).toBe(
      'did you mean --env prod? the vault has secrets in dev, prod',
    );
    expect(emptyListHint('project/zzz', undefined, existing)).toBe(
      'prefixes that exist: meta/cloudflare, project/consilio, project/odin',
    );
    expect(emptyListHint('project/x', undefined, [])).toBeUndefined();
  });

  it('a short name allows one edit: Key is not near pem_key', () => {
    const withPem = [...existing, { path: 'project/consilio/pem_key', env: 'dev' }];
    const err = errorOf(() => parseKeyPath('project/CONSILIO/Key'));
    const read = suggestFromExisting(
      err,
      { kind: 'path', input: 'project/CONSILIO/Key', env: 'dev' },
      withPem,
    );
    expect(read.hint).toContain('did you mean project/consilio/key?');
    expect(read.hint).not.toContain('pem_key');
    expect(closestPaths('project/consilio/pem_kye', withPem).map((p) => p.path)).toEqual([
      'project/consilio/pem_key',
    ]);
  });

  it('set keeps the grammar fix of a new path; an existing grammar fix is named anyway', () => {
    const withApi = [...existing, { path: 'project/consilio/api_key', env: 'dev' }];
    const err = errorOf(() => parseKeyPath('project/CONSILIO/api_kye'));
    const set = suggestFromExisting(
      err,
      { kind: 'path', input: 'project/CONSILIO/api_kye', env: 'dev', creating: true },
      withApi,
    );
    expect(set).toBe(err);
    const get = suggestFromExisting(
      err,
      { kind: 'path', input: 'project/CONSILIO/api_kye', env: 'dev' },
      withApi,
    );
    expect(get.hint).toMatch(/^did you mean project\/consilio\/api_key\?/);
    const exact = errorOf(() => parseKeyPath('project/CONSILIO/api_key'));
    const named = suggestFromExisting(
      exact,
      { kind: 'path', input: 'project/CONSILIO/api_key', env: 'dev', creating: true },
      withApi,
    );
    expect(named.hint).toMatch(/^did you mean project\/consilio\/api_key\?/);
  });

  it('a bare project name given to list gets its prefix', () => {
    const err = errorOf(() => parsePathPrefix('consilo'));
    const e = suggestFromExisting(err, { kind: 'prefix', input: 'consilo' }, existing);
    expect(e.hint).toBe('did you mean project/consilio?');
  });

  it('suggests nothing that is far away, and never the input itself', () => {
    expect(closestPaths('project/other/token', existing)).toEqual([]);
    expect(closestPaths('project/consilio/stripe_api_key', existing)).toEqual([]);
    expect(closestPaths('key', existing)).toEqual([]);
  });
});
