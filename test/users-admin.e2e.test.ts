// The bootstrap admin (ADMIN_EMAIL / ADMIN_PASSWORD at start-up) and `create-admin` CLI.
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './support/db.js';
import { login, register, strongPassword, uniqueEmail } from './support/fixtures.js';
import { type Api, expectProblem } from './support/http.js';
import {
  childEnv,
  cleanup,
  makeDataDir,
  ROOT,
  startProcess,
  startServer,
  tail,
  waitForExit,
} from './support/server.js';

const ADMIN_PASSWORD = 'bootstrap-admin-passphrase';

afterAll(cleanup);

const databases: TestDatabase[] = [];
afterAll(() => Promise.all(databases.map((d) => d.drop())));

async function database(): Promise<TestDatabase> {
  const db = await createTestDatabase();
  databases.push(db);
  return db;
}

/** Active admins as an admin sees them through the API. */
async function activeAdmins(api: Api, email: string, password: string): Promise<string[]> {
  const { accessToken } = await login(api, email, password);
  const res = await api.get('/api/users?role=ADMIN&active=true&sort=email', {
    token: accessToken,
  });
  expect(res.status).toBe(200);
  return res.body.items.map((u: { email: string }) => u.email);
}

describe('bootstrap admin', () => {
  it('is created once and left alone on the next start', async () => {
    const db = await database();
    const email = uniqueEmail('boot');
    const env = { ADMIN_EMAIL: email.toUpperCase(), ADMIN_PASSWORD };
    const first = await startServer({ database: db, env });
    const t = await login(first.api, email, ADMIN_PASSWORD);
    expect(t.user).toMatchObject({ email, role: 'ADMIN', active: true, emailVerified: true });
    await first.stop();

    const second = await startServer({ database: db, env });
    expect(await activeAdmins(second.api, email, ADMIN_PASSWORD)).toEqual([email]);
    await second.stop();

    // Another ADMIN_EMAIL changes nothing while an admin exists.
    const third = await startServer({
      database: db,
      env: { ADMIN_EMAIL: uniqueEmail('other'), ADMIN_PASSWORD },
    });
    expect(await activeAdmins(third.api, email, ADMIN_PASSWORD)).toEqual([email]);
    await third.stop();
  }, 120_000);

  // Several instances on one database need a real PostgreSQL: on PGlite (no DATABASE_URL)
  // the test database is one backend behind a TCP bridge, where the advisory locks that
  // serialize the migrations and the bootstrap are held by every connection at once. The
  // embedded database is single-process by design, and a second process on one DATA_DIR
  // is refused (embedded.e2e.test.ts); .ci/run runs this on PostgreSQL.
  it.skipIf(!process.env.DATABASE_URL)(
    'is created exactly once by two servers starting together on one database',
    async () => {
      const db = await database();
      const email = uniqueEmail('twin');
      const env = { ADMIN_EMAIL: email, ADMIN_PASSWORD };
      const [a, b] = await Promise.all([
        startServer({ database: db, env }),
        startServer({ database: db, env }),
      ]);
      expect(await activeAdmins(a.api, email, ADMIN_PASSWORD)).toEqual([email]);
      const rows = await db.query<{ n: string }>(
        `SELECT count(*) AS n FROM users WHERE role = 'ADMIN'`,
      );
      expect(Number(rows[0].n)).toBe(1);
      await Promise.all([a.stop(), b.stop()]);
    },
    120_000,
  );

  it('promotes an existing account with that email and gives it ADMIN_PASSWORD', async () => {
    const db = await database();
    const plain = await startServer({ database: db });
    const { email, password } = await register(plain.api);
    const old = await login(plain.api, email, password);
    await plain.stop();

    const booted = await startServer({ database: db, env: { ADMIN_EMAIL: email, ADMIN_PASSWORD } });
    expectProblem(await booted.api.get('/api/users/me', { token: old.accessToken }), 401);
    expectProblem(await booted.api.post('/api/auth/login', { email, password }), 401);
    expect(await activeAdmins(booted.api, email, ADMIN_PASSWORD)).toEqual([email]);
    await booted.stop();
  }, 120_000);

  it('stops start-up with one line naming ADMIN_PASSWORD when it is weak', async () => {
    const db = await database();
    const dataDir = makeDataDir();
    const proc = startProcess({
      DATABASE_URL: db.url,
      PORT: '0',
      NODE_ENV: 'test',
      DATA_DIR: dataDir,
      ADMIN_EMAIL: 'weak@example.com',
      ADMIN_PASSWORD: 'short',
    });
    expect(await waitForExit(proc)).toBe(1);
    expect(tail(proc.logs)).toContain('Invalid configuration: ADMIN_PASSWORD must be at least 8');
    expect(tail(proc.logs)).not.toMatch(/\bat .*\(.*:\d+:\d+\)/);
    rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);
});

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node dist/src/cli/create-admin.js ...args` against `db`, stdin closed (no TTY). */
function createAdmin(db: TestDatabase, args: string[], env: Record<string, string> = {}) {
  return new Promise<CliResult>((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'dist/src/cli/create-admin.js'), ...args], {
      cwd: ROOT,
      env: childEnv({ DATABASE_URL: db.url, NODE_ENV: 'test', ...env }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('npm run create-admin', () => {
  it('creates an admin on a fresh database, then says it already is one', async () => {
    const db = await database();
    const email = uniqueEmail('cli');
    const password = strongPassword();
    const created = await createAdmin(db, ['--email', email.toUpperCase(), '--password', password]);
    expect(created, JSON.stringify(created)).toMatchObject({ code: 0 });
    expect(created.stdout).toContain(`Created the admin ${email}`);

    const again = await createAdmin(db, ['--email', email]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('already an admin (password unchanged)');

    const server = await startServer({ database: db });
    expect(await activeAdmins(server.api, email, password)).toEqual([email]);
    await server.stop();
  }, 120_000);

  it('promotes an existing user (password unchanged) and takes ADMIN_PASSWORD for new ones', async () => {
    const db = await database();
    const server = await startServer({ database: db });
    const { email, password } = await register(server.api);
    const promoted = await createAdmin(db, ['--email', email]);
    expect(promoted.code, promoted.stderr).toBe(0);
    expect(promoted.stdout).toContain(`${email} already had an account: promoted it to admin`);
    expect(promoted.stdout).toContain('password unchanged');
    expect(await activeAdmins(server.api, email, password)).toEqual([email]);

    const fromEnv = uniqueEmail('env');
    const byEnv = await createAdmin(db, ['--email', fromEnv], { ADMIN_PASSWORD });
    expect(byEnv.code, byEnv.stderr).toBe(0);
    await login(server.api, fromEnv, ADMIN_PASSWORD);
    await server.stop();
  }, 120_000);

  it('refuses a weak password with the reason, and bad usage with exit code 2', async () => {
    const db = await database();
    const email = uniqueEmail('weak');
    const weak = await createAdmin(db, [
      '--email',
      email,
      '--password',
      `${email.split('@')[0]}!!`,
    ]);
    expect(weak.code).toBe(1);
    expect(weak.stderr).toContain('Refused: password must not contain the email address');
    const short = await createAdmin(db, ['--email', email, '--password', 'short']);
    expect(short.code).toBe(1);
    expect(short.stderr).toContain('at least 8 characters');

    const noPassword = await createAdmin(db, ['--email', uniqueEmail()]);
    expect(noPassword.code).toBe(2);
    expect(noPassword.stderr).toContain('needs a password');
    expect((await createAdmin(db, [])).code).toBe(2);
    expect(
      (await createAdmin(db, ['--email', 'not-an-email', '--password', strongPassword()])).code,
    ).toBe(2);
    expect((await createAdmin(db, ['--email', email, '--bogus'])).code).toBe(2);

    const rows = await db.query(`SELECT 1 FROM users WHERE role = 'ADMIN'`);
    expect(rows).toEqual([]);
  }, 120_000);
});
