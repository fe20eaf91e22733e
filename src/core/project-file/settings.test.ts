import { describe, expect, it } from 'vitest';
import type { ProjectConfig } from './parse.js';
import { allowedEnvNamesFor, projectFileEnvFor, projectOfPath } from './settings.js';

const file: ProjectConfig = {
  project: 'app',
  env: 'prod',
  allowEnvNames: ['NODE_OPTIONS'],
  file: '/w/.coffer',
};

describe("a project file's settings apply to its own project only", () => {
  it("env: the file's project, or a command naming none; never another project", () => {
    expect(projectFileEnvFor(file, 'app')).toBe('prod');
    expect(projectFileEnvFor(file, undefined)).toBe('prod');
    expect(projectFileEnvFor(file, 'billing')).toBeUndefined();
    expect(projectFileEnvFor(undefined, 'app')).toBeUndefined();
  });

  it("allow_env_names: the file's project only, after the flags", () => {
    expect(allowedEnvNamesFor(file, 'app', ['JAVA_TOOL_OPTIONS'])).toEqual([
      'JAVA_TOOL_OPTIONS',
      'NODE_OPTIONS',
    ]);
    expect(allowedEnvNamesFor(file, 'billing', ['JAVA_TOOL_OPTIONS'])).toEqual([
      'JAVA_TOOL_OPTIONS',
    ]);
    expect(allowedEnvNamesFor(file, undefined)).toEqual([]);
  });

  it('the project of a key path or prefix as typed', () => {
    expect(projectOfPath('project/app/stripe_key')).toBe('app');
    expect(projectOfPath('project/app')).toBe('app');
    expect(projectOfPath('project/app/')).toBe('app');
    expect(projectOfPath('meta/cloudflare/token')).toBeUndefined();
    expect(projectOfPath('project')).toBeUndefined();
    expect(projectOfPath('project/App/Key')).toBeUndefined();
    expect(projectOfPath('projects/app/key')).toBeUndefined();
  });
});
