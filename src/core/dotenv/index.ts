/**
 * The dotenv module: `.env` text in, `.env` text out, read and written exactly as the `dotenv`
 * npm package's `dotenv.parse` (dotenv 18.0.10, default parser) reads it. No file I/O here:
 * callers read and write files (atomically) themselves.
 */
export { commentDescriptions, descriptionFromComment } from './comments.js';
export { removeDotenvVariables, setDotenvVariables } from './edit.js';
export {
  type DotenvExample,
  dotenvExample,
  exampleValueLooksReal,
  isClearlyNotSecret,
  looksLikeSecret,
  secretLikeName,
  shannonEntropy,
} from './example.js';
export { formatDotenv, formatDotenvValue, isDotenvKey } from './format.js';
export { type ImportEntry, importEntries, importEnvVar } from './import-plan.js';
export {
  type DotenvEntry,
  type DotenvOtherEntry,
  type DotenvPairEntry,
  parseDotenv,
  parseDotenvLines,
} from './parse.js';
export {
  type DotenvChange,
  type DotenvWrite,
  type DotenvWriteOptions,
  dotenvTarget,
  readDotenvFile,
  writeDotenv,
} from './write.js';
