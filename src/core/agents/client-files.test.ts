import { mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { errorOf } from '../../../test/helpers/errors.js';
import { hasMkfifo, makeFifo, startFifoWriter } from '../../../test/helpers/fifo.js';
import { READ_LIMITS, TooLargeError } from '../read-limited.js';
import { readClientFile } from './client-files.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'coffer-agent-files-'));
  dirs.push(d);
  return d;
};

describe('readClientFile', () => {
  it('reads a file up to its cap; undefined for one that does not exist', () => {
    const d = tempDir();
    writeFileSync(join(d, '.mcp.json'), '{}\n'.padEnd(READ_LIMITS.agentSettings, ' '));
    expect(readClientFile(join(d, '.mcp.json'), '.mcp.json')).toHaveLength(
      READ_LIMITS.agentSettings,
    );
    writeFileSync(join(d, 'AGENTS.md'), '# Notes\n'.padEnd(READ_LIMITS.agentInstructions, '.'));
    expect(readClientFile(join(d, 'AGENTS.md'), 'AGENTS.md')).toHaveLength(
      READ_LIMITS.agentInstructions,
    );
    expect(readClientFile(join(d, 'CLAUDE.md'), 'CLAUDE.md')).toBeUndefined();
  });

  it('refuses a settings file or an instructions file past 1 MiB by name, without reading it', () => {
    const d = tempDir();
    mkdirSync(join(d, '.claude'));
    for (const [file, what] of [
      ['.mcp.json', "an agent's settings file"],
      ['.claude/settings.json', "an agent's settings file"],
      ['CLAUDE.md', "an agent's instructions file"],
      ['AGENTS.md', "an agent's instructions file"],
    ] as const) {
      const path = join(d, file);
      writeFileSync(path, '{}\n');
      for (const size of [1024 * 1024 + 1, 3 * 1024 * 1024 * 1024]) {
        truncateSync(path, size); // sparse: nothing is really written
        const err = errorOf(() => readClientFile(path, file));
        expect(err).toBeInstanceOf(TooLargeError);
        expect(err.code).toBe('INVALID_ARGUMENT');
        expect(err.message).toBe(`${path} is larger than 1 MiB, the limit for ${what}`);
      }
    }
  });

  it('refuses a device, a link to one and a directory as not a regular file', () => {
    const d = tempDir();
    symlinkSync('/dev/zero', join(d, 'AGENTS.md'));
    mkdirSync(join(d, '.mcp.json'));
    for (const file of ['AGENTS.md', '.mcp.json']) {
      expect(errorOf(() => readClientFile(join(d, file), file)).message).toBe(
        `${join(d, file)} is not a regular file`,
      );
    }
  });

  it.skipIf(!hasMkfifo)('refuses a FIFO as not a regular file, never reading it', async () => {
    const fifo = makeFifo(tempDir(), 'CLAUDE.md');
    const writer = await startFifoWriter(fifo, '# Notes\n');
    try {
      expect(errorOf(() => readClientFile(fifo, 'CLAUDE.md')).message).toBe(
        `${fifo} is not a regular file`,
      );
    } finally {
      writer.stop();
    }
  });
});
