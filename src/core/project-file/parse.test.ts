import { describe, expect, it } from 'vitest';
import { errorOf } from '../../../test/helpers/errors.js';
import { noProjectLine, parseProjectFile } from './parse.js';

describe('parseProjectFile', () => {
  it('reads project, env and allow_env_names from a .coffer (dotenv syntax)', () => {
    const text = 'project=app\nenv=prod\nallow_env_names=NODE_OPTIONS, JAVA_TOOL_OPTIONS\n';
    expect(parseProjectFile('/w/.coffer', text)).toEqual({
      project: 'app',
      env: 'prod',
      allowEnvNames: ['NODE_OPTIONS', 'JAVA_TOOL_OPTIONS'],
      file: '/w/.coffer',
    });
  });

  it('reads the top-level lines of a coffer.yaml, quoted or commented, and nothing nested', () => {
    const text = [
      "project: 'app' # the vault project",
      'env: "staging"',
      'allow_env_names: NODE_OPTIONS',
      'variables:',
      '  env: prod',
    ].join('\n');
    expect(parseProjectFile('/w/coffer.yaml', text)).toEqual({
      project: 'app',
      env: 'staging',
      allowEnvNames: ['NODE_OPTIONS'],
      file: '/w/coffer.yaml',
    });
  });

  it('a file without a project line is projectless, naming a key in another case', () => {
    expect(parseProjectFile('/w/.coffer', 'env=prod\n')).toEqual({ file: '/w/.coffer' });
    expect(parseProjectFile('/w/.coffer', 'PROJECT=app\n')).toEqual({
      file: '/w/.coffer',
      otherCase: 'PROJECT',
    });
    expect(parseProjectFile('/w/coffer.yml', 'Project: app\n')).toEqual({
      file: '/w/coffer.yml',
      otherCase: 'Project',
    });
  });

  it('refuses an invalid project, environment or allowed name, naming the file', () => {
    const project = errorOf(() => parseProjectFile('/w/.coffer', 'project=My_App\n'));
    expect(project.code).toBe('INVALID_ARGUMENT');
    expect(project.message).toBe('/w/.coffer: "My_App" is not a valid project name');
    expect(errorOf(() => parseProjectFile('/w/.coffer', 'project=app\nenv=Prod!\n')).code).toBe(
      'INVALID_ENV',
    );
    const allow = errorOf(() =>
      parseProjectFile('/w/.coffer', 'project=app\nallow_env_names=A=B\n'),
    );
    expect(allow.code).toBe('INVALID_ARGUMENT');
    expect(allow.message).toMatch(/^\/w\/\.coffer: allow_env_names: /);
  });

  it('the missing-project error names the line to add in the syntax of the file', () => {
    const dotenv = noProjectLine({ file: '/w/.coffer', otherCase: 'PROJECT' });
    expect(dotenv.code).toBe('USAGE');
    expect(dotenv.message).toBe('no project given, and /w/.coffer has no project= line');
    expect(dotenv.hint).toContain('The key is lowercase: PROJECT is not read.');
    const yaml = noProjectLine({ file: '/w/coffer.yaml' });
    expect(yaml.message).toBe(
      'no project given, and /w/coffer.yaml has no top-level project: line',
    );
    expect(yaml.hint).toContain('project: consilio');
  });
});
