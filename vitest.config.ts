import { existsSync } from 'node:fs';
import { configDefaults, defineConfig } from 'vitest/config';

// Browser tests drive Debian's Chromium (test tools never download a browser). `.ci/run`
// installs it and sets AUTHKIT_BROWSER_TESTS=required, so CI always runs them; on a machine
// without it (`npm ci && npm test` on a bare machine) they are left out, and said so.
const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// AUTHKIT_BROWSER_TESTS=off leaves them out on purpose (`.ci/run`'s bare-machine pass: the
// pages do not depend on the database mode, and the PostgreSQL pass runs them).
const browserRequired = process.env.AUTHKIT_BROWSER_TESTS === 'required';
const browserOff = process.env.AUTHKIT_BROWSER_TESTS === 'off';
const browserFiles = ['test/pages-*.e2e.test.ts', 'test/passkeys.e2e.test.ts'];
const leaveOutBrowser = browserOff || (!browserRequired && !existsSync(chromium));
if (browserOff) {
  process.stderr.write(`AUTHKIT_BROWSER_TESTS=off: ${browserFiles.join(', ')} left out.\n`);
} else if (leaveOutBrowser) {
  process.stderr.write(
    `No Chromium at ${chromium}: the browser tests (${browserFiles.join(', ')}) are left out. ` +
      'Install it (apt-get install -y chromium) or set CHROMIUM_PATH to run them.\n',
  );
}

// The suite is black-box: every test file starts the built server (`dist/`) as a child
// process against its own database and talks to it over HTTP. `npm test` builds first.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: [...configDefaults.exclude, ...(leaveOutBrowser ? browserFiles : [])],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 90_000,
    reporters: ['default'],
  },
});
