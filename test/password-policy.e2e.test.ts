// Password policy (issue 5, point 3): the most common breached passwords are refused with
// 400 WEAK_PASSWORD and a detail that says why, case-insensitively, wherever a password
// is set: register, change-password, reset-password, admin create/update, the bootstrap
// admin and the create-admin CLI. Length and the email/username rule keep working.
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from './support/db.js';
import {
  login,
  register,
  registerAndLogin,
  strongPassword,
  uniqueEmail,
  uniqueUsername,
} from './support/fixtures.js';
import { type Api, describeResponse, expectProblem } from './support/http.js';
import { linkIn, SUBJECT, waitForNth } from './support/mail.js';
import {
  childEnv,
  cleanup,
  makeDataDir,
  CHILD_CWD,
  ROOT,
  startProcess,
  startServer,
  tail,
  type TestServer,
  waitForExit,
} from './support/server.js';
import { type SmtpSink, startSmtpSink } from './support/smtp.js';

const ADMIN_EMAIL = 'policy-admin@example.com';
const ADMIN_PASSWORD = 'policy-bootstrap-passphrase';

/**
 * Entries of the list at different ranks (1M-list line numbers): 3, 50, 307 (as
 * "password1"), 10,474, 70,572 and two near 97,000, which only a list of about the top
 * 100,000 contains. Mixed case must not slip through.
 */
const COMMON = [
  '12345678',
  'iloveyou',
  'PassWord1',
  'SUNSHINE1',
  'letmein123',
  'abbeyroad',
  'achiever',
];

let smtp: SmtpSink;
let server: TestServer;
let api: Api;
let adminToken: string;

beforeAll(async () => {
  smtp = await startSmtpSink();
  server = await startServer({ env: { SMTP_URL: smtp.url, ADMIN_EMAIL, ADMIN_PASSWORD } });
  api = server.api;
  adminToken = (await login(api, ADMIN_EMAIL, ADMIN_PASSWORD)).accessToken;
});
afterAll(async () => {
  await cleanup();
  await smtp.stop();
});

/** Fails unless `res` is 400 WEAK_PASSWORD naming `field` and the list as the reason. */
function expectCommon(res: Awaited<ReturnType<Api['post']>>, field = 'password'): void {
  const problem = expectProblem(res, 400, 'WEAK_PASSWORD');
  expect(problem.detail).toMatch(new RegExp(`^${field} .*(common|breach)`, 'i'));
  expect(problem.errors?.map((e) => e.field)).toEqual([field]);
}

describe('POST /api/auth/register', () => {
  it.each(COMMON)('refuses the common password %s', async (password) => {
    expectCommon(await api.post('/api/auth/register', { email: uniqueEmail(), password }));
  });

  it('accepts long, uncommon passwords, even ones that contain a common one', async () => {
    for (const password of [
      strongPassword(),
      'iloveyou-but-not-on-mondays',
      'correct horse battery staple 42',
    ]) {
      const res = await api.post('/api/auth/register', { email: uniqueEmail(), password });
      expect(res.status, describeResponse(res)).toBe(201);
    }
  });

  it('still applies the length and own-identifier rules', async () => {
    const email = uniqueEmail('ownname');
    const local = email.split('@')[0];
    const short = await api.post('/api/auth/register', { email, password: 'x7#Q' });
    expectProblem(short, 400, 'WEAK_PASSWORD');
    const own = await api.post('/api/auth/register', { email, password: `${local}-2024!` });
    expect(expectProblem(own, 400, 'WEAK_PASSWORD').detail).toMatch(/email/);
    const username = uniqueUsername('pol');
    const byName = await api.post('/api/auth/register', {
      email: uniqueEmail(),
      username,
      password: `my-${username}-pass`,
    });
    expect(expectProblem(byName, 400, 'WEAK_PASSWORD').detail).toMatch(/username/);
  });
});

describe('every other place a password is set', () => {
  it('POST /api/auth/change-password refuses a common newPassword', async () => {
    const user = await registerAndLogin(api);
    const res = await api.post(
      '/api/auth/change-password',
      { currentPassword: user.password, newPassword: 'Iloveyou' },
      { token: user.accessToken },
    );
    expectCommon(res, 'newPassword');
    // The old password still works.
    await login(api, user.email, user.password);
  });

  it('POST /api/recovery/reset-password refuses a common newPassword, and the token survives', async () => {
    const { email } = await register(api);
    expect((await api.post('/api/recovery/forgot-password', { email })).status).toBe(202);
    const { token } = linkIn(await waitForNth(smtp, email, SUBJECT.reset), 'reset-password');
    const weak = await api.post('/api/recovery/reset-password', {
      token,
      newPassword: 'letmein123',
    });
    expectCommon(weak, 'newPassword');
    const newPassword = strongPassword();
    const ok = await api.post('/api/recovery/reset-password', { token, newPassword });
    expect(ok.status, describeResponse(ok)).toBe(204);
    await login(api, email, newPassword);
  });

  it('POST /api/users and PATCH /api/users/:id (admin) refuse common passwords', async () => {
    const created = await api.post(
      '/api/users',
      { email: uniqueEmail('admincreated'), password: 'abbeyroad' },
      { token: adminToken },
    );
    expectCommon(created);
    const { user } = await register(api);
    const updated = await api.patch(
      `/api/users/${user.id}`,
      { password: '12345678' },
      { token: adminToken },
    );
    expectCommon(updated);
  });

  it('refuses a common ADMIN_PASSWORD at start-up with one line naming it', async () => {
    const db = await createTestDatabase();
    const dataDir = makeDataDir();
    try {
      const proc = startProcess({
        DATABASE_URL: db.url,
        PORT: '0',
        NODE_ENV: 'test',
        DATA_DIR: dataDir,
        ADMIN_EMAIL: 'fresh-admin@example.com',
        ADMIN_PASSWORD: 'Password1',
      });
      expect(await waitForExit(proc)).toBe(1);
      expect(tail(proc.logs)).toMatch(/Invalid configuration: ADMIN_PASSWORD .*common/);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
      await db.drop();
    }
  }, 60_000);

  it('npm run create-admin refuses a common password with the reason', async () => {
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(
        process.execPath,
        [
          join(ROOT, 'dist/src/cli/create-admin.js'),
          '--email',
          uniqueEmail(),
          '--password',
          'iloveyou',
        ],
        {
          cwd: CHILD_CWD,
          env: childEnv({ DATABASE_URL: server.db.url || undefined, NODE_ENV: 'test' }),
          stdio: ['ignore', 'ignore', 'pipe'],
        },
      );
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('close', (code) => resolve({ code, stderr }));
    });
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(/Refused: password .*common/);
  }, 60_000);
});
