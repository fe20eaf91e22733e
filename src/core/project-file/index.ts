/**
 * The project file (`.coffer`, `coffer.yaml`): finding it, reading it, and which of its
 * settings apply to a command.
 */
export { findProjectConfig, resolveProjectIn } from './find.js';
export {
  noProjectLine,
  PROJECT_FILE_NAMES,
  type ProjectConfig,
  type ProjectlessFile,
  parseProjectFile,
} from './parse.js';
export { allowedEnvNamesFor, projectFileEnvFor, projectOfPath } from './settings.js';
