import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Most test time is spent in spawned coffer processes, servers and PostgreSQL, with
    // waits between them: one file more than there are cores (three on two cores; vitest's
    // default there is one) keeps the cores busy through those waits.
    maxWorkers: Math.max(3, availableParallelism() + 1),
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'test/*.test.ts'],
          exclude: ['**/*.mocked.test.ts', '**/node_modules/**'],
          // The unit files share each worker's loaded modules (no helper registers hooks or
          // keeps state between files; a file that changes process.env puts it back):
          // a third of the CPU time. The e2e files stay isolated (their harness does).
          isolate: false,
          testTimeout: 30_000,
        },
      },
      {
        test: {
          // A file that replaces a module (vi.mock) runs in modules of its own: in the shared
          // ones, the module under test may already be loaded with the real one, and the
          // mock would then never be called.
          name: 'unit-mocked',
          include: ['src/**/*.mocked.test.ts'],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts', 'examples/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
