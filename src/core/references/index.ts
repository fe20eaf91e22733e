/**
 * Secret references (`coffer://...`) and `{{ }}` templates, and their resolution.
 */

export { dotenvReferenceSecrets } from './dotenv-refs.js';
export {
  formatReference,
  hasTemplates,
  isDerived,
  isReference,
  parseReference,
  REFERENCE_SCHEME,
  type ReferenceVariables,
  references,
  render,
  type SecretReference,
} from './reference.js';
export { type ReferenceReader, resolveDerived, resolveReferences } from './resolve.js';
export { readTemplateFile } from './template-file.js';
