/**
 * `coffer incident` checks the prevention items on disk (the pre-commit hook, .gitignore)
 * through the built binary: a FIFO in their place is never read, whatever is written to it,
 * and a .gitignore past 16 MiB is not read either; the incident goes through all the same.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hasMkfifo, makeFifo, startFifoWriter } from '../helpers/fifo.js';
import { makeHome } from './harness.js';

const PATH = 'project/agents/openai_api_key';
const DESCRIPTION = 'LLM access for the support assistant summaries';

function repo() {
  const h = makeHome();
  expect(h.run(['init']).code).toBe(0);
  const set = h.run(['set', PATH, '-d', DESCRIPTION, '--env', 'prod'], {
    input: 'sk-leaked-Qx81value0123',
  });
  expect(set.code, set.stderr).toBe(0);
  const dir = join(h.home, 'app');
  mkdirSync(dir);
  expect(spawnSync('git', ['init', '-q', dir]).status).toBe(0);
  mkdirSync(join(dir, '.git', 'hooks'), { recursive: true });
  const incident = () =>
    h.run(['incident', PATH, '--env', 'prod', '--value-stdin'], {
      cwd: dir,
      input: 'sk-fresh-Zr92value4567',
    });
  return { dir, incident };
}

describe('coffer incident: the prevention items', () => {
  it('a .gitignore past 16 MiB is not read: .env is not counted as ignored, and the file is named as unread', () => {
    const { dir, incident } = repo();
    writeFileSync(join(dir, '.gitignore'), '.env\n');
    truncateSync(join(dir, '.gitignore'), 16 * 1024 * 1024 + 1); // sparse: nothing is written
    const r = incident();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(
      'todo: .gitignore: .gitignore too large: check that it ignores .env files',
    );
    expect(r.stderr).not.toMatch(/internal error|\n\s+at /);
  });

  it.skipIf(!hasMkfifo)('a FIFO as the hook or the .gitignore is never read', async () => {
    const { dir, incident } = repo();
    // What a reader would take for a scanner hook and an ignored .env.
    const hook = await startFifoWriter(
      makeFifo(join(dir, '.git', 'hooks'), 'pre-commit'),
      'coffer scan --staged\n',
    );
    const gitignore = await startFifoWriter(makeFifo(dir, '.gitignore'), '.env\n');
    try {
      const r = incident();
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('todo: pre-commit hook: run coffer hook install');
      expect(r.stdout).toContain(
        'todo: .gitignore: .gitignore not a regular file: check that it ignores .env files',
      );
    } finally {
      hook.stop();
      gitignore.stop();
    }
  });
});
