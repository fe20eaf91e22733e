/**
 * A file whose size the file system does not tell: stat says 0 bytes, reading gives more
 * (`/proc/kallsyms`, megabytes of kernel symbols). Readers that trust stat's size read such a
 * file whole; coffer's bounded reads stop at their limit.
 */
import { closeSync, openSync, readSync } from 'node:fs';

/** `/proc/kallsyms` when this system has it and it holds more than `bytes`; else undefined. */
export function procFileLargerThan(bytes: number): string | undefined {
  const file = '/proc/kallsyms';
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const buf = Buffer.alloc(64 * 1024);
    let total = 0;
    for (let n = readSync(fd, buf); n > 0 && total <= bytes; n = readSync(fd, buf)) total += n;
    return total > bytes ? file : undefined;
  } finally {
    closeSync(fd);
  }
}
