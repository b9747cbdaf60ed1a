// The Users table of API.md through HTTP: self-service, admin CRUD, revocation, LAST_ADMIN.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectUser } from './support/assertions.js';
import {
  login,
  register,
  registerAndLogin,
  strongPassword,
  uniqueEmail,
  uniqueUsername,
} from './support/fixtures.js';
import { type Api, describeResponse, expectProblem, findLeaks } from './support/http.js';
import { cleanup, startServer, type TestServer } from './support/server.js';

const ADMIN_EMAIL = 'root-admin@example.com';
const ADMIN_PASSWORD = 'bootstrap-admin-passphrase';

let server: TestServer;
let api: Api;
let admin: string;

beforeAll(async () => {
  server = await startServer({ env: { ADMIN_EMAIL, ADMIN_PASSWORD } });
  api = server.api;
  admin = (await login(api, ADMIN_EMAIL, ADMIN_PASSWORD)).accessToken;
});
afterAll(cleanup);

const me = (token: string) => api.get('/api/users/me', { token });

/** Creates a user through the admin API (201 expected). */
async function createUser(body: Record<string, unknown> = {}, token = admin) {
  const input = { email: uniqueEmail(), password: strongPassword(), ...body };
  const res = await api.post('/api/users', input, { token });
  if (res.status !== 201) throw new Error(`create failed: ${describeResponse(res)}`);
  return { user: res.body, email: input.email, password: input.password };
}

describe('GET /api/users/me', () => {
  it('answers 200 with the caller', async () => {
    const u = await registerAndLogin(api, { firstName: 'Ada' });
    const res = await me(u.accessToken);
    expect(res.status, describeResponse(res)).toBe(200);
    expectUser(res.body);
    expect(res.body).toMatchObject({ id: u.user.id, email: u.email, firstName: 'Ada' });
  });

  it('answers 401 UNAUTHORIZED without a token', async () => {
    expectProblem(await api.get('/api/users/me'), 401, 'UNAUTHORIZED');
  });
});

describe('PATCH /api/users/me', () => {
  it('changes username (normalized), firstName and lastName; null clears a field', async () => {
    const u = await registerAndLogin(api, { firstName: 'Old', lastName: 'Name' });
    const username = uniqueUsername();
    const res = await api.patch(
      '/api/users/me',
      { username: username.toUpperCase(), firstName: ' Grace ', lastName: null },
      { token: u.accessToken },
    );
    expect(res.status, describeResponse(res)).toBe(200);
    expectUser(res.body);
    expect(res.body).toMatchObject({ username, firstName: 'Grace', lastName: null });
    expect((await me(u.accessToken)).body).toMatchObject({ username, firstName: 'Grace' });
  });

  it('refuses role, active, emailVerified, email, password and unknown fields with 400', async () => {
    const u = await registerAndLogin(api);
    for (const body of [
      { role: 'ADMIN' },
      { active: false },
      { emailVerified: true },
      { email: uniqueEmail() },
      { password: strongPassword() },
      { id: randomUUID() },
      { firstName: 'Ok', isAdmin: true },
    ]) {
      const res = await api.patch('/api/users/me', body, { token: u.accessToken });
      expectProblem(res, 400, 'VALIDATION_FAILED');
    }
    expect((await me(u.accessToken)).body).toMatchObject({ role: 'USER', email: u.email });
  });

  it('answers 400 to an invalid username or a non-object body', async () => {
    const u = await registerAndLogin(api);
    for (const body of [{ username: 'a b' }, { username: 'x' }, { firstName: 42 }, [1]]) {
      expectProblem(
        await api.patch('/api/users/me', body, { token: u.accessToken }),
        400,
        'VALIDATION_FAILED',
      );
    }
  });

  it('answers 409 USERNAME_TAKEN for a username in use, whatever its case', async () => {
    const taken = uniqueUsername();
    await register(api, { username: taken });
    const u = await registerAndLogin(api);
    const res = await api.patch(
      '/api/users/me',
      { username: taken.toUpperCase() },
      { token: u.accessToken },
    );
    expectProblem(res, 409, 'USERNAME_TAKEN');
  });

  it('answers 401 without a token', async () => {
    expectProblem(await api.patch('/api/users/me', { firstName: 'X' }), 401, 'UNAUTHORIZED');
  });
});

describe('DELETE /api/users/me', () => {
  it('deletes the account and its sessions: every token stops working at once', async () => {
    const { email, password } = await register(api);
    const a = await login(api, email, password);
    const b = await login(api, email, password);
    const res = await api.request('DELETE', '/api/users/me', {
      body: { password },
      token: a.accessToken,
    });
    expect(res.status, describeResponse(res)).toBe(204);
    expect(res.text).toBe('');
    expectProblem(await me(a.accessToken), 401, 'UNAUTHORIZED');
    expectProblem(await me(b.accessToken), 401, 'UNAUTHORIZED');
    expectProblem(
      await api.post('/api/auth/refresh', { refresh_token: b.refreshToken }),
      401,
      'INVALID_REFRESH_TOKEN',
    );
    expectProblem(
      await api.post('/api/auth/login', { email, password }),
      401,
      'INVALID_CREDENTIALS',
    );
    expectProblem(await api.get(`/api/users/${a.user.id}`, { token: admin }), 404, 'NOT_FOUND');
    await register(api, { email }); // the email is free again
  });

  it('answers 400 INVALID_CURRENT_PASSWORD (not 401) to a wrong password and keeps the account', async () => {
    const u = await registerAndLogin(api);
    const res = await api.request('DELETE', '/api/users/me', {
      body: { password: strongPassword() },
      token: u.accessToken,
    });
    expectProblem(res, 400, 'INVALID_CURRENT_PASSWORD');
    expect((await me(u.accessToken)).status).toBe(200);
  });

  it('answers 400 VALIDATION_FAILED without a password', async () => {
    const u = await registerAndLogin(api);
    expectProblem(
      await api.request('DELETE', '/api/users/me', { token: u.accessToken }),
      400,
      'VALIDATION_FAILED',
    );
    expectProblem(
      await api.request('DELETE', '/api/users/me', { body: {}, token: u.accessToken }),
      400,
      'VALIDATION_FAILED',
    );
    expect((await me(u.accessToken)).status).toBe(200);
  });
});

describe('admin routes refuse non-admins', () => {
  it('answers 403 FORBIDDEN to a USER on every ADMIN route, 401 without a token', async () => {
    const u = await registerAndLogin(api);
    const other = await register(api);
    const id = other.user.id as string;
    const calls = [
      () => api.get('/api/users', { token: u.accessToken }),
      () =>
        api.post(
          '/api/users',
          { email: uniqueEmail(), password: strongPassword() },
          { token: u.accessToken },
        ),
      () => api.patch(`/api/users/${id}`, { firstName: 'X' }, { token: u.accessToken }),
      () => api.patch(`/api/users/${u.user.id}`, { role: 'ADMIN' }, { token: u.accessToken }),
      () => api.delete(`/api/users/${id}`, { token: u.accessToken }),
    ];
    for (const call of calls) expectProblem(await call(), 403, 'FORBIDDEN');
    expect((await me(u.accessToken)).body.role).toBe('USER');
    expectProblem(await api.get('/api/users'), 401, 'UNAUTHORIZED');
    expectProblem(await api.post('/api/users', {}), 401, 'UNAUTHORIZED');
  });
});

describe('POST /api/users', () => {
  it('creates a user with role, active and emailVerified; the email is normalized', async () => {
    const email = uniqueEmail();
    const username = uniqueUsername();
    const password = strongPassword();
    const res = await api.post(
      '/api/users',
      {
        email: `  ${email.toUpperCase()} `,
        password,
        username,
        firstName: 'Katherine',
        lastName: 'Johnson',
        role: 'ADMIN',
        active: true,
        emailVerified: true,
      },
      { token: admin },
    );
    expect(res.status, describeResponse(res)).toBe(201);
    expectUser(res.body);
    expect(res.body).toMatchObject({
      email,
      username,
      firstName: 'Katherine',
      lastName: 'Johnson',
      role: 'ADMIN',
      active: true,
      emailVerified: true,
      lastLoginAt: null,
    });
    const t = await login(api, email, password);
    expect((await api.get('/api/users?limit=1', { token: t.accessToken })).status).toBe(200);
  });

  it('defaults to an active, unverified USER; an inactive one cannot log in', async () => {
    const { user } = await createUser();
    expect(user).toMatchObject({ role: 'USER', active: true, emailVerified: false });
    const inactive = await createUser({ active: false });
    expectProblem(
      await api.post('/api/auth/login', { email: inactive.email, password: inactive.password }),
      403,
      'ACCOUNT_DISABLED',
    );
  });

  it('answers 409 EMAIL_TAKEN / USERNAME_TAKEN, case-insensitively', async () => {
    const existing = await createUser({ username: uniqueUsername() });
    expectProblem(
      await api.post(
        '/api/users',
        { email: existing.email.toUpperCase(), password: strongPassword() },
        { token: admin },
      ),
      409,
      'EMAIL_TAKEN',
    );
    expectProblem(
      await api.post(
        '/api/users',
        {
          email: uniqueEmail(),
          password: strongPassword(),
          username: existing.user.username.toUpperCase(),
        },
        { token: admin },
      ),
      409,
      'USERNAME_TAKEN',
    );
  });

  it('answers 409 to concurrent creations with one email: one 201, never a 500', async () => {
    const email = uniqueEmail();
    const results = await Promise.all(
      [0, 1, 2].map(() =>
        api.post('/api/users', { email, password: strongPassword() }, { token: admin }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409]);
  });

  it('answers 400 WEAK_PASSWORD with the reason', async () => {
    const email = uniqueEmail('weakling');
    const res = await api.post(
      '/api/users',
      { email, password: `my-${email.split('@')[0]}-pass` },
      { token: admin },
    );
    const p = expectProblem(res, 400, 'WEAK_PASSWORD');
    expect(p.detail).toMatch(/email/);
    expectProblem(
      await api.post('/api/users', { email: uniqueEmail(), password: 'short' }, { token: admin }),
      400,
    );
  });

  it('answers 400 VALIDATION_FAILED to unknown fields, bad values and nulls', async () => {
    for (const extra of [
      { id: randomUUID() },
      { hashedPassword: 'x' },
      { role: 'ROOT' },
      { role: null },
      { active: 'yes' },
      { emailVerified: 1 },
      { createdAt: new Date().toISOString() },
    ]) {
      const res = await api.post(
        '/api/users',
        { email: uniqueEmail(), password: strongPassword(), ...extra },
        { token: admin },
      );
      expectProblem(res, 400, 'VALIDATION_FAILED');
    }
    expectProblem(
      await api.post(
        '/api/users',
        { email: 'not-an-email', password: strongPassword() },
        { token: admin },
      ),
      400,
      'VALIDATION_FAILED',
    );
    expectProblem(await api.post('/api/users', {}, { token: admin }), 400, 'VALIDATION_FAILED');
  });
});

describe('GET /api/users/:id', () => {
  it('answers 200 to an admin and to the user itself', async () => {
    const u = await registerAndLogin(api);
    for (const token of [admin, u.accessToken]) {
      const res = await api.get(`/api/users/${u.user.id}`, { token });
      expect(res.status, describeResponse(res)).toBe(200);
      expectUser(res.body);
      expect(res.body.id).toBe(u.user.id);
    }
  });

  it('answers 403 FORBIDDEN to a user reading another user (known or not)', async () => {
    const u = await registerAndLogin(api);
    const other = await register(api);
    expectProblem(
      await api.get(`/api/users/${other.user.id}`, { token: u.accessToken }),
      403,
      'FORBIDDEN',
    );
    expectProblem(
      await api.get(`/api/users/${randomUUID()}`, { token: u.accessToken }),
      403,
      'FORBIDDEN',
    );
  });

  it('answers 404 to an unknown id, 400 to a malformed one, 401 without a token', async () => {
    expectProblem(await api.get(`/api/users/${randomUUID()}`, { token: admin }), 404, 'NOT_FOUND');
    for (const bad of ['not-a-uuid', '123', `${randomUUID()}x`, "1'%20OR%20'1'='1"]) {
      expectProblem(await api.get(`/api/users/${bad}`, { token: admin }), 400, 'VALIDATION_FAILED');
    }
    expectProblem(await api.get(`/api/users/${randomUUID()}`), 401, 'UNAUTHORIZED');
  });
});

describe('PATCH /api/users/:id', () => {
  it('changes every admin field and answers the updated user', async () => {
    const { user } = await createUser();
    const email = uniqueEmail();
    const username = uniqueUsername();
    const res = await api.patch(
      `/api/users/${user.id}`,
      {
        email: email.toUpperCase(),
        username,
        firstName: 'Joan',
        lastName: 'Clarke',
        emailVerified: true,
      },
      { token: admin },
    );
    expect(res.status, describeResponse(res)).toBe(200);
    expectUser(res.body);
    expect(res.body).toMatchObject({
      email,
      username,
      firstName: 'Joan',
      lastName: 'Clarke',
      emailVerified: true,
    });
    expect(Date.parse(res.body.updatedAt)).toBeGreaterThanOrEqual(Date.parse(user.updatedAt));
  });

  it('marks a changed email unverified unless emailVerified is sent', async () => {
    const { user } = await createUser({ emailVerified: true });
    const res = await api.patch(
      `/api/users/${user.id}`,
      { email: uniqueEmail() },
      { token: admin },
    );
    expect(res.status, describeResponse(res)).toBe(200);
    expect(res.body.emailVerified).toBe(false);
  });

  it('keeps sessions for a profile change but revokes them on deactivation', async () => {
    const u = await registerAndLogin(api);
    await api.patch(`/api/users/${u.user.id}`, { firstName: 'Still' }, { token: admin });
    expect((await me(u.accessToken)).status).toBe(200);
    const res = await api.patch(`/api/users/${u.user.id}`, { active: false }, { token: admin });
    expect(res.status, describeResponse(res)).toBe(200);
    expect(res.body.active).toBe(false);
    expectProblem(await me(u.accessToken), 401, 'UNAUTHORIZED');
    expectProblem(
      await api.post('/api/auth/refresh', { refresh_token: u.refreshToken }),
      401,
      'INVALID_REFRESH_TOKEN',
    );
    expectProblem(
      await api.post('/api/auth/login', { email: u.email, password: u.password }),
      403,
      'ACCOUNT_DISABLED',
    );
  });

  it('revokes the sessions on a role change', async () => {
    const u = await registerAndLogin(api);
    const res = await api.patch(`/api/users/${u.user.id}`, { role: 'ADMIN' }, { token: admin });
    expect(res.status, describeResponse(res)).toBe(200);
    expect(res.body.role).toBe('ADMIN');
    expectProblem(await me(u.accessToken), 401, 'UNAUTHORIZED');
    const again = await login(api, u.email, u.password);
    expect((await api.get('/api/users?limit=1', { token: again.accessToken })).status).toBe(200);
  });

  it('sets a password: old sessions and password stop working, the new one logs in', async () => {
    const u = await registerAndLogin(api);
    const password = strongPassword();
    const res = await api.patch(`/api/users/${u.user.id}`, { password }, { token: admin });
    expect(res.status, describeResponse(res)).toBe(200);
    expectProblem(await me(u.accessToken), 401, 'UNAUTHORIZED');
    expectProblem(
      await api.post('/api/auth/login', { email: u.email, password: u.password }),
      401,
      'INVALID_CREDENTIALS',
    );
    await login(api, u.email, password);
  });

  it('answers 400 WEAK_PASSWORD, 409 EMAIL_TAKEN / USERNAME_TAKEN', async () => {
    const a = await createUser({ username: uniqueUsername() });
    const { user } = await createUser();
    expectProblem(
      await api.patch(`/api/users/${user.id}`, { password: 'short' }, { token: admin }),
      400,
    );
    expectProblem(
      await api.patch(`/api/users/${user.id}`, { email: a.email }, { token: admin }),
      409,
      'EMAIL_TAKEN',
    );
    expectProblem(
      await api.patch(`/api/users/${user.id}`, { username: a.user.username }, { token: admin }),
      409,
      'USERNAME_TAKEN',
    );
  });

  it('answers 400 to unknown fields and to null where a value is required', async () => {
    const { user } = await createUser();
    for (const body of [
      { id: randomUUID() },
      { hashedPassword: 'x' },
      { email: null },
      { role: null },
      { active: null },
      { emailVerified: null },
      { password: null },
      { role: 'SUPERUSER' },
    ]) {
      expectProblem(
        await api.patch(`/api/users/${user.id}`, body, { token: admin }),
        400,
        'VALIDATION_FAILED',
      );
    }
    const res = await api.get(`/api/users/${user.id}`, { token: admin });
    expect(res.body).toMatchObject({ email: user.email, role: 'USER', active: true });
  });

  it('answers 404 to an unknown id and 400 to a malformed one', async () => {
    expectProblem(
      await api.patch(`/api/users/${randomUUID()}`, { firstName: 'X' }, { token: admin }),
      404,
      'NOT_FOUND',
    );
    expectProblem(
      await api.patch('/api/users/nope', { firstName: 'X' }, { token: admin }),
      400,
      'VALIDATION_FAILED',
    );
  });
});

describe('DELETE /api/users/:id', () => {
  it('deletes the user; their tokens stop working at once', async () => {
    const u = await registerAndLogin(api);
    const res = await api.delete(`/api/users/${u.user.id}`, { token: admin });
    expect(res.status, describeResponse(res)).toBe(204);
    expectProblem(await me(u.accessToken), 401, 'UNAUTHORIZED');
    expectProblem(await api.get(`/api/users/${u.user.id}`, { token: admin }), 404, 'NOT_FOUND');
    expectProblem(await api.delete(`/api/users/${u.user.id}`, { token: admin }), 404, 'NOT_FOUND');
  });

  it('answers 400 to a malformed id', async () => {
    expectProblem(await api.delete('/api/users/1', { token: admin }), 400, 'VALIDATION_FAILED');
  });
});

describe('LAST_ADMIN', () => {
  it('never leaves zero active admins; with a second admin the change goes through', async () => {
    // A server of its own, so that its bootstrap admin is the only admin.
    const solo = await startServer({ env: { ADMIN_EMAIL, ADMIN_PASSWORD } });
    const s = solo.api;
    const t = await login(s, ADMIN_EMAIL, ADMIN_PASSWORD);
    const id = t.user.id as string;
    const attempts = [
      () => s.patch(`/api/users/${id}`, { role: 'USER' }, { token: t.accessToken }),
      () => s.patch(`/api/users/${id}`, { active: false }, { token: t.accessToken }),
      () => s.delete(`/api/users/${id}`, { token: t.accessToken }),
      () =>
        s.request('DELETE', '/api/users/me', {
          body: { password: ADMIN_PASSWORD },
          token: t.accessToken,
        }),
    ];
    for (const attempt of attempts) expectProblem(await attempt(), 409, 'LAST_ADMIN');
    // Harmless changes to the last admin still work, and its session is intact.
    const ok = await s.patch(
      `/api/users/${id}`,
      { firstName: 'Root', role: 'ADMIN', active: true },
      { token: t.accessToken },
    );
    expect(ok.status, describeResponse(ok)).toBe(200);
    expect((await s.get('/api/users/me', { token: t.accessToken })).status).toBe(200);

    const other = await s.post(
      '/api/users',
      { email: uniqueEmail(), password: strongPassword(), role: 'ADMIN' },
      { token: t.accessToken },
    );
    expect(other.status).toBe(201);
    const demoted = await s.patch(`/api/users/${id}`, { role: 'USER' }, { token: t.accessToken });
    expect(demoted.status, describeResponse(demoted)).toBe(200);
    await solo.stop();
  }, 60_000);

  it('lets exactly one of two parallel demotions of the last two admins succeed', async () => {
    const race = await startServer({ env: { ADMIN_EMAIL, ADMIN_PASSWORD } });
    const s = race.api;
    const bEmail = uniqueEmail('admin-b');
    const bPassword = strongPassword();
    const bootstrap = await login(s, ADMIN_EMAIL, ADMIN_PASSWORD);
    const created = await s.post(
      '/api/users',
      { email: bEmail, password: bPassword, role: 'ADMIN' },
      { token: bootstrap.accessToken },
    );
    expect(created.status, describeResponse(created)).toBe(201);
    const credentials = [
      [ADMIN_EMAIL, ADMIN_PASSWORD],
      [bEmail, bPassword],
    ] as const;
    // Each admin demotes (or deactivates) themselves at the same moment, so the winner's
    // session revocation cannot turn the loser's request into a 401.
    for (const change of [{ role: 'USER' }, { active: false }, { role: 'USER' }]) {
      const admins = await Promise.all(credentials.map(([e, p]) => login(s, e, p)));
      const results = await Promise.all(
        admins.map((t) => s.patch(`/api/users/${t.user.id}`, change, { token: t.accessToken })),
      );
      const where = results.map(describeResponse).join('\n');
      expect(results.map((r) => r.status).sort(), where).toEqual([200, 409]);
      const loser = results.findIndex((r) => r.status === 409);
      expectProblem(results[loser], 409, 'LAST_ADMIN');
      const survivor = admins[loser];
      const remaining = await s.get('/api/users?role=ADMIN&active=true', {
        token: survivor.accessToken,
      });
      expect(remaining.body.total).toBe(1);
      expect(remaining.body.items[0].id).toBe(survivor.user.id);
      // Restore the other admin for the next round.
      const other = admins[1 - loser];
      const restore = await s.patch(
        `/api/users/${other.user.id}`,
        { role: 'ADMIN', active: true },
        { token: survivor.accessToken },
      );
      expect(restore.status, describeResponse(restore)).toBe(200);
    }
    await race.stop();
  }, 90_000);
});

describe('responses', () => {
  it('never contained a password hash, token hash or stack trace in this file', () => {
    expect(api.history.length).toBeGreaterThan(50);
    expect(findLeaks(api)).toEqual([]);
  });
});
