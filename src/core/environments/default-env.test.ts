import { describe, expect, it } from 'vitest';
import { chooseEnvironment } from './default-env.js';

describe('chooseEnvironment', () => {
  const file = () => 'prod';

  it('takes the flag, then COFFER_ENV, then the project file, then dev', () => {
    expect(chooseEnvironment({ flag: 'qa', variable: 'staging', projectFile: file })).toBe('qa');
    expect(chooseEnvironment({ variable: 'staging', projectFile: file })).toBe('staging');
    expect(chooseEnvironment({ projectFile: file })).toBe('prod');
    expect(chooseEnvironment({ projectFile: () => undefined })).toBe('dev');
    expect(chooseEnvironment({})).toBe('dev');
  });

  it('reads the project file only when nothing else chose', () => {
    const broken = () => {
      throw new Error('read');
    };
    expect(chooseEnvironment({ flag: 'dev', projectFile: broken })).toBe('dev');
    expect(chooseEnvironment({ variable: 'dev', projectFile: broken })).toBe('dev');
  });

  it('refuses a bad name from any source', () => {
    expect(() => chooseEnvironment({ projectFile: () => 'PROD' })).toThrow(/invalid environment/);
  });
});
