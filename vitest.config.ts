import { defineConfig } from 'vitest/config';

// The suite is black-box: every test file starts the built server (`dist/`) as a child
// process against its own database and talks to it over HTTP. `npm test` builds first.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 90_000,
    reporters: ['default'],
  },
});
