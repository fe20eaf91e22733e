import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
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

  it('reads allow_env_names in each form the manifest reader takes, to the same names', () => {
    // run reads coffer.yaml line by line; manifest check, setup and rotate parse the YAML.
    // A list form run did not read made the manifest allow a name run then refused.
    const forms = [
      'allow_env_names: NODE_OPTIONS, JAVA_TOOL_OPTIONS',
      'allow_env_names: [NODE_OPTIONS, JAVA_TOOL_OPTIONS] # both',
      'allow_env_names: [\'NODE_OPTIONS\', "JAVA_TOOL_OPTIONS"]',
      'allow_env_names:\n  - NODE_OPTIONS\n\n  # the JVM agent\n  - "JAVA_TOOL_OPTIONS"',
      'allow_env_names:   # the names\n - NODE_OPTIONS # node\n - JAVA_TOOL_OPTIONS',
    ];
    for (const form of forms) {
      const text = `project: app\n${form}\nvariables:\n  STRIPE_KEY: stripe_key\n`;
      const fromYaml = parseYaml(text) as { allow_env_names: string | string[] };
      const expected = [fromYaml.allow_env_names].flat().flatMap((n) => n.split(/[\s,]+/));
      expect(expected).toEqual(['NODE_OPTIONS', 'JAVA_TOOL_OPTIONS']);
      expect(parseProjectFile('/w/coffer.yaml', text), form).toMatchObject({
        project: 'app',
        allowEnvNames: expected,
      });
    }
  });

  it('refuses allow_env_names in a form it cannot read, naming the file, rather than allowing none', () => {
    for (const form of [
      'allow_env_names: {NODE_OPTIONS: true}',
      'allow_env_names: [NODE_OPTIONS,\n  JAVA_TOOL_OPTIONS]',
      'allow_env_names: NODE-OPTIONS',
    ]) {
      const err = errorOf(() => parseProjectFile('/w/coffer.yaml', `project: app\n${form}\n`));
      expect(err.message, form).toMatch(/^\/w\/coffer\.yaml: allow_env_names: /);
    }
  });
});
