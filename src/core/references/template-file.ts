/**
 * The template file of `coffer inject -i FILE`, read whole under READ_LIMITS.template: a
 * template is a configuration file, not a data set. Only a regular file is read: a FIFO or a
 * device is refused as "not a file" without waiting for it, and a file whose size the file
 * system does not tell (a /proc file) or that grows while it is read stops at the limit.
 */
import { CofferError } from '../errors.js';
import { READ_LIMITS, readRegularFileLimited } from '../read-limited.js';
import { decodeUtf8 } from '../utf8.js';

/**
 * The text of the template `file`. A missing file is FILE_NOT_FOUND (`FILE does not exist`),
 * anything but a regular file INVALID_ARGUMENT (`FILE is not a file`), a file past the limit
 * a TooLargeError naming it; text that is not UTF-8 is refused with its line.
 */
export function readTemplateFile(file: string): string {
  const bytes = readRegularFileLimited(file, READ_LIMITS.template, 'a template');
  if (bytes === undefined) throw new CofferError('INVALID_ARGUMENT', `${file} is not a file`);
  return decodeUtf8(bytes, file);
}
